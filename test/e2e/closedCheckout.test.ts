// A root user's clone in a folder only root can enter (mode 0700, like root's home): `npm start`'s
// production stage comes up anyway, its data root moved where the servers' OS user can reach it, and
// nobody else is given access to the clone or the data.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stageOutputsSchema } from "../../components/outputs";
import { sharedDataRoot } from "../../components/platform/local";
import { downStages, upStages } from "../../scripts/stages";
import { committedStacksEnv, copyCheckoutFiles, freePort, REPO_ROOT } from "../harness/engine";

jest.setTimeout(600_000);

const asRoot = process.getuid?.() === 0 ? test : test.skip;

let closed: string;
let checkout: string;
let envVars: Record<string, string>;
const log: string[] = [];
const opts = () => ({ workDir: checkout, envVars, onOutput: (t: string) => void log.push(t) });

beforeAll(async () => {
    closed = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-closed-")); // mode 0700, root's
    checkout = path.join(closed, "checkout");
    copyCheckoutFiles(checkout); // as a clone would hold it; dependencies shared
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(checkout, "node_modules"));
    // The committed production stack file, on a port no other test or stack uses.
    const stackFile = path.join(checkout, "Pulumi.prod.yaml");
    fs.writeFileSync(stackFile, fs.readFileSync(stackFile, "utf8").replace(/port: 15432/, `port: ${await freePort()}`));
    fs.mkdirSync(path.join(closed, "state"));
    envVars = committedStacksEnv(path.join(closed, "state"));
});

afterAll(async () => {
    if (checkout !== undefined && fs.existsSync(path.join(closed, "state", ".pulumi"))) {
        await downStages(["prod"], opts()).catch(() => undefined);
    }
    fs.rmSync(path.dirname(sharedDataRoot("prod", checkout)), { recursive: true, force: true });
    fs.rmSync(closed, { recursive: true, force: true });
});

asRoot("npm start's production stage comes up from a clone in a 0700 folder, its data under /var/lib/stagewise", async () => {
    const outputs = stageOutputsSchema.parse((await upStages(["prod"], opts())).prod);
    const dataRoot = sharedDataRoot("prod", checkout);
    expect(dataRoot).toMatch(/^\/var\/lib\/stagewise\/checkout-[0-9a-f]{10}\/prod$/);
    expect(outputs.dataRoot).toBe(dataRoot);
    expect(log.join("")).toContain(
        `data root: ${dataRoot} (the servers' OS user postgres cannot enter this project's folder; set platform.dataRoot to choose another place)`,
    );
    // The server runs as postgres from there, its data folder closed to everyone else; the clone stays closed.
    const pgdata = path.join(dataRoot, "prod-db", "pgdata");
    expect(fs.readFileSync(path.join(pgdata, "postmaster.pid"), "utf8").split("\n")[1]).toBe(pgdata);
    const stat = fs.statSync(pgdata);
    expect([stat.uid, stat.mode & 0o777]).toEqual([Number(childProcess.execFileSync("id", ["-u", "postgres"], { encoding: "utf8" })), 0o700]);
    expect(fs.statSync(closed).mode & 0o777).toBe(0o700);
    expect(fs.existsSync(path.join(checkout, ".stagewise"))).toBe(false);
});

asRoot("down removes the moved data root and its project folder", async () => {
    await downStages(["prod"], opts());
    expect(fs.existsSync(path.dirname(sharedDataRoot("prod", checkout)))).toBe(false);
});
