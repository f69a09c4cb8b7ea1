// A user's existing stack upgrades without replacing servers: production deployed by an earlier
// version of stagewise (its committed stack file, its default ports and data root), then the same
// checkout updated to this version: the preview replaces nothing, `up` keeps the server's data, and
// a second preview finds nothing to do.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { downStages, ensureStacks } from "../../scripts/stages";
import { committedStacksEnv, copyCheckoutFiles, REPO_ROOT } from "../harness/engine";

jest.setTimeout(600_000);

/** The last commit of the version users deployed before the default ports moved (2026-11-30). */
const EARLIER_VERSION = "497f1a3";
/** A shallow clone lacks it: then there is nothing to upgrade from here, and the test says so by being skipped. */
const hasEarlierVersion = childProcess.spawnSync("git", ["cat-file", "-e", `${EARLIER_VERSION}^{commit}`], { cwd: REPO_ROOT }).status === 0;

let dir: string;
let checkout: string;
let envVars: Record<string, string>;
const log: string[] = [];
const opts = () => ({ workDir: checkout, envVars, onOutput: (t: string) => void log.push(t) });

/** Replaces the checkout's files with `commit`'s (or, without one, this working tree's), as a pull does. */
function checkOut(commit?: string): void {
    for (const entry of fs.readdirSync(checkout)) {
        if (![".stagewise", "node_modules"].includes(entry)) {
            fs.rmSync(path.join(checkout, entry), { recursive: true, force: true });
        }
    }
    if (commit !== undefined) {
        const archive = childProcess.spawnSync("git", ["archive", commit], { cwd: REPO_ROOT, maxBuffer: 256 * 1024 * 1024 });
        childProcess.execFileSync("tar", ["-x", "-C", checkout], { input: archive.stdout });
        return;
    }
    copyCheckoutFiles(checkout);
}

async function prodStack(): Promise<Stack> {
    return LocalWorkspace.selectStack({ stackName: "prod", workDir: checkout }, { envVars });
}

async function query(stack: Stack, sql: string): Promise<Record<string, unknown>[]> {
    const work = ((await stack.outputs()).connectionStrings.value as Record<string, string>).work;
    const client = new Client({ connectionString: work });
    await client.connect();
    try {
        return (await client.query(sql)).rows;
    } finally {
        await client.end();
    }
}

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-upgrade-"));
    fs.chmodSync(dir, 0o755); // the earlier version needs the servers' OS user to reach the data root
    checkout = path.join(dir, "checkout");
    fs.mkdirSync(checkout);
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(checkout, "node_modules"));
    fs.mkdirSync(path.join(dir, "state"));
    envVars = committedStacksEnv(path.join(dir, "state"));
});

afterAll(async () => {
    if (fs.existsSync(path.join(checkout, "Pulumi.yaml"))) {
        await downStages(["prod"], opts()).catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
});

(hasEarlierVersion ? test : test.skip)("production deployed by the earlier version upgrades in place: no replacement, its data kept, then nothing to do", async () => {
    checkOut(EARLIER_VERSION);
    expect(fs.readFileSync(path.join(checkout, "Pulumi.prod.yaml"), "utf8")).toContain("port: 55432");
    // The earlier version's main job: production comes up (its promotion gate needs the test stack to exist).
    for (const name of ["prod", "test"]) {
        await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: checkout }, { envVars });
    }
    let prod = await prodStack();
    await prod.up({ color: "never" });
    const before = (await prod.outputs()).servers.value as Record<string, { port: number; systemIdentifier: string }>;
    expect(before["prod-db"].port).toBe(55432);
    await query(prod, "CREATE TABLE upgrade_marker (note text); INSERT INTO upgrade_marker VALUES ('written by the earlier version')");

    // The checkout pulls this version; npm start's first step keeps the deployed port.
    checkOut();
    expect(fs.readFileSync(path.join(checkout, "Pulumi.prod.yaml"), "utf8")).toContain("port: 15432");
    log.length = 0;
    prod = (await ensureStacks(["prod"], opts())).get("prod")!;
    expect(log.join("")).toContain("prod: servers.prod-db.port stays 55432, where its deployed server listens");

    const preview = await prod.preview({ color: "never", diff: true });
    expect(preview.changeSummary.replace ?? 0).toBe(0);
    expect(preview.changeSummary.delete ?? 0).toBe(0);
    expect(preview.changeSummary.create ?? 0).toBe(0);
    await prod.up({ color: "never" });
    const after = (await prod.outputs()).servers.value as Record<string, { port: number; systemIdentifier: string }>;
    expect(after["prod-db"]).toMatchObject({ port: 55432, systemIdentifier: before["prod-db"].systemIdentifier });
    expect(await query(prod, "SELECT note FROM upgrade_marker")).toEqual([{ note: "written by the earlier version" }]);
    expect((await prod.preview({ color: "never", expectNoChanges: true })).changeSummary.update).toBeUndefined();
});
