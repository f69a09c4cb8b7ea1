// stagewise as a library a Pulumi user imports: this checkout packed with `npm pack`, the example
// program (examples/library) installing the tarball in a folder of its own and declaring a production
// stage with a hot standby in code. Up through the Automation API, the standby streams from the
// primary; destroy removes everything and leaves no server running.
import { Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { LibraryProject, libraryProject } from "../harness/library";
import { queryUrl } from "../harness/postgres";
import { streamingHotStandby } from "../harness/expected";

jest.setTimeout(300_000);

// As examples/library/index.ts declares them; no other test uses these ports.
const PRIMARY_PORT = 15732;
const STANDBY_PORT = 15733;

let project: LibraryProject;
let stack: Stack;

beforeAll(() => {
    project = libraryProject();
}, 480_000);

afterAll(() => project?.dispose(), 60_000);

test("npm pack ships the compiled library and its declarations; `stagewise` resolves to the compiled entry", () => {
    const version = (JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")) as { version: string }).version;
    // examples/library/package.json depends on exactly this file.
    expect(project.tarball).toBe(`stagewise-${version}.tgz`);
    const installed = path.join(project.projectDir, "node_modules", "stagewise");
    expect(require.resolve("stagewise", { paths: [project.projectDir] })).toBe(path.join(installed, "dist", "components", "stagewise.js"));
    expect(fs.existsSync(path.join(installed, "dist", "components", "stagewise.d.ts"))).toBe(true);
    // JavaScript and declarations only: no TypeScript source, tests or stack files of this project.
    const shipped = fs.readdirSync(installed, { recursive: true, encoding: "utf8" }).filter((f) => fs.statSync(path.join(installed, f)).isFile());
    expect(shipped.filter((f) => !/^dist\/.+\.(js|d\.ts)(\.map)?$/.test(f)).sort()).toEqual(["README.md", "package.json", "program.js"]);
    expect(shipped.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
});

test("the reference engine's units start from the runner inside the installed package", () => {
    const installed = path.join(project.projectDir, "node_modules", "stagewise");
    // Read by a Node.js process in the example, through the package's exports (not by this test's jest).
    const printed = childProcess.execFileSync(process.execPath, ["-e", 'console.log(JSON.stringify(require("stagewise/dist/components/engine/engineCluster.js").REFERENCE_ENGINE))'], {
        cwd: project.projectDir,
        encoding: "utf8",
    });
    const REFERENCE_ENGINE = JSON.parse(printed) as string[];
    expect(REFERENCE_ENGINE).toEqual([process.execPath, path.join(installed, "dist", "engine", "run.js")]);
    expect(fs.existsSync(REFERENCE_ENGINE[1])).toBe(true);
});

test("the example type-checks against the installed package, with Node's and with the exports map's resolution", () => {
    expect(project.run("tsc", ["-p", "."])).toEqual({ status: 0, output: "" });
    expect(project.run("tsc", ["-p", ".", "--module", "node16", "--moduleResolution", "node16"])).toEqual({ status: 0, output: "" });
});

test("a wrong argument is a type error in the user's program (the arguments are typed, not a bag of keys)", () => {
    const typo = [
        'import { ProductionStage } from "stagewise";',
        'new ProductionStage("typo", {',
        '    servers: { "typo-db": { port: 15734 } },',
        '    standbys: { "typo-db-hot": { tier: "lukewarm", port: 15735 } },',
        "});",
        "",
    ].join("\n");
    fs.writeFileSync(path.join(project.projectDir, "typo.ts"), typo);
    const checked = project.run("tsc", ["--noEmit", "--strict", "--module", "commonjs", "--moduleResolution", "node", "--types", "node", "--esModuleInterop", "--skipLibCheck", "typo.ts"]);
    fs.rmSync(path.join(project.projectDir, "typo.ts"));
    expect(checked).toEqual({ status: 2, output: `typo.ts(4,34): error TS2322: Type '"lukewarm"' is not assignable to type '"hot" | "warm" | "cold"'.\n` });
});

test("up brings up the primary and its hot standby, which streams from it", async () => {
    stack = await project.createStack("lib");
    await stack.up({ color: "never" });
    const outputs = Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, v.value])) as Record<string, any>;
    expect(outputs.servers["lib-db"]).toMatchObject({ host: "127.0.0.1", port: PRIMARY_PORT, endpoint: `127.0.0.1:${PRIMARY_PORT}`, running: true });
    expect(outputs.standbys).toEqual({ "lib-db-hot": streamingHotStandby(STANDBY_PORT, "stagewise_lib_db_hot") });
    // The primary's own view, as its superuser: the standby's walsender, streaming.
    const { superuserPassword } = outputs.outputs.copySource as { superuserPassword: string };
    const primary = `postgresql://postgres:${encodeURIComponent(superuserPassword)}@127.0.0.1:${PRIMARY_PORT}/postgres`;
    expect(await queryUrl(primary, "SELECT application_name, state FROM pg_stat_replication")).toEqual([{ application_name: "lib-db-hot", state: "streaming" }]);
    expect(await queryUrl(primary, "SELECT slot_name, active FROM pg_replication_slots")).toEqual([{ slot_name: "stagewise_lib_db_hot", active: true }]);
});

test("destroy (protection lifted, as the example says) removes every resource and leaves no server running", async () => {
    const dataRoot = path.join(project.projectDir, ".stagewise", "lib");
    expect(project.processesInside(dataRoot).length).toBeGreaterThan(0); // the two servers, before
    project.unprotectAll(stack);
    await stack.destroy({ color: "never" });
    expect(((await stack.exportStack()).deployment?.resources ?? []).map((r: { urn: string }) => r.urn)).toEqual([]);
    expect(project.processesInside(dataRoot)).toEqual([]);
    expect(fs.existsSync(dataRoot)).toBe(false);
});
