// A user's existing stacks upgrade in place, without replacing servers (issue 15): the three stages
// and the DR site deployed by the version before the restructuring (5b10ee0: the committed stack
// files, production with a hot and a warm standby as a user declares them), production first
// deployed by the version of 2026-11-30 (497f1a3, its old default port), then the same checkout
// updated to this version. Every stack's preview creates, deletes and replaces nothing and leaves
// every server `same`; `up` keeps each server's system identifier, rows and postmaster; a second
// preview finds nothing to do.
//
// The version upgraded to is this working tree (tracked and new files, as in CI), or the commit
// named by STAGEWISE_UPGRADE_TO (e.g. HEAD, to leave uncommitted work out).
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Client } from "pg";
import { downStages, ensureStacks, MAIN_JOB_STACKS, upStages } from "../../scripts/stages";
import { committedStacksEnv, REPO_ROOT } from "../harness/engine";
import {
    changingSteps,
    checkOutInto,
    hasCommit,
    recordSteps,
    runningServers,
    ServerOnDisk,
    serversInState,
    serverSteps,
    showStep,
    stopServersUnder,
    upgradeProblems,
} from "../harness/upgrade";

jest.setTimeout(600_000);

/** The last commit before issue 15's restructuring (folders by concept, provider kit, typed components). */
const BEFORE_RESTRUCTURING = "5b10ee0";
/** The last commit of the version users deployed before the default ports moved (2026-11-30). */
const BEFORE_PORTS_MOVED = "497f1a3";
/** The version upgraded to: a commit, or this working tree. */
const UPGRADE_TO = process.env.STAGEWISE_UPGRADE_TO || undefined;
/** The DR site is its own stack, brought up after the main job's (README). */
const STACKS = [...MAIN_JOB_STACKS, "dr"];
/** The servers in each stack's state, as serversInState lists them (sorted "type name"). */
const SERVERS_OF = {
    prod: ["HotStandby prod-prod-hot", "PostgresServer prod-prod-db", "WarmStandby prod-warm-prod-warm"],
    test: ["PostgresServer test-test-db"],
    dev: ["PostgresServer dev-dev-db"],
    dr: ["DisasterRecoveryServer dr-prod-db"],
};
/** The running servers' data folders under .stagewise, as runningServers lists them. */
const RUNNING = ["dev/dev-db", "dr/prod-db", "prod/prod-db", "prod/prod-hot", "prod/prod-warm", "test/test-db"];
/** Hot standby port: next to production's committed 15432, below the tests' free-port range. */
const HOT_PORT = 15433;

/** A shallow clone lacks the earlier version: then there is nothing to upgrade from here, and the test says so by being skipped. */
const canRun = hasCommit(BEFORE_RESTRUCTURING);
if (!canRun) {
    console.warn(`upgrade.test.ts skipped: commit ${BEFORE_RESTRUCTURING} (the version before the restructuring) is not in this clone (a shallow clone?)`);
}
const fromPortsMoved = canRun && hasCommit(BEFORE_PORTS_MOVED);

let dir: string;
let checkout: string;
let envVars: Record<string, string>;
const log: string[] = [];
const opts = () => ({ workDir: checkout, envVars, onOutput: (t: string) => void log.push(t) });
const stackOf = (name: string): Promise<Stack> => LocalWorkspace.selectStack({ stackName: name, workDir: checkout }, { envVars });
const timings: string[] = [];
async function timed<T>(what: string, run: () => Promise<T>): Promise<T> {
    const start = Date.now();
    try {
        return await run();
    } finally {
        timings.push(`${what}: ${((Date.now() - start) / 1000).toFixed(1)} s`);
    }
}

/** What is checked to be unchanged by the upgrade. */
interface Snapshot {
    servers: Record<string, ServerOnDisk>;
    /** upgrade_marker rows by "<stack>/<member>". */
    rows: Record<string, string[]>;
    /** The servers in each stack's state. */
    inState: Record<string, string[]>;
}
let before: Snapshot | undefined;
let upgraded = false;
let destroyed = false;

/** A user who declared standbys: production's stack file (of whichever version is checked out) gets a hot and a warm one. */
function declareStandbys(): void {
    const file = path.join(checkout, "Pulumi.prod.yaml");
    const text = fs.readFileSync(file, "utf8");
    const standbys = ["  stagewise:standbys:", "    prod-hot:", "      tier: hot", `      port: ${HOT_PORT}`, "    prod-warm:", "      tier: warm", "      port: 15434", ""].join("\n");
    expect(text).toMatch(/^config:\n/);
    fs.writeFileSync(file, text.replace(/^config:\n/, `config:\n${standbys}`));
}

async function workUrl(stack: string): Promise<string> {
    return ((await (await stackOf(stack)).outputs()).connectionStrings.value as Record<string, string>).work;
}

async function query(url: string, sql: string): Promise<Record<string, unknown>[]> {
    const client = new Client({ connectionString: url });
    await client.connect();
    try {
        return (await client.query(sql)).rows;
    } finally {
        await client.end();
    }
}

const notes = async (url: string) => (await query(url, "SELECT note FROM upgrade_marker ORDER BY note")).map((r) => r.note as string);

/** The work database of each writable server and of the hot standby (a replica of production's). */
async function markerUrls(): Promise<Record<string, string>> {
    const prod = await workUrl("prod");
    const hot = new URL(prod);
    hot.port = String(HOT_PORT);
    return { "prod/prod-db": prod, "prod/prod-hot": hot.toString(), "test/test-db": await workUrl("test"), "dev/dev-db": await workUrl("dev") };
}

async function snapshot(): Promise<Snapshot> {
    const rows: Record<string, string[]> = {};
    for (const [server, url] of Object.entries(await markerUrls())) {
        rows[server] = await notes(url);
    }
    const inState: Record<string, string[]> = {};
    for (const name of STACKS) {
        inState[name] = await serversInState(await stackOf(name));
    }
    return { servers: runningServers(path.join(checkout, ".stagewise")), rows, inState };
}

beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-upgrade-"));
    fs.chmodSync(dir, 0o755); // the servers' OS user reaches the data roots in the checkout
    checkout = path.join(dir, "checkout");
    fs.mkdirSync(checkout);
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(checkout, "node_modules"));
    fs.mkdirSync(path.join(dir, "state"));
    envVars = committedStacksEnv(path.join(dir, "state"));
});

afterAll(async () => {
    if (!destroyed && fs.existsSync(path.join(dir, "state", ".pulumi"))) {
        await downStages(STACKS, opts()).catch((err: Error) => console.warn(`upgrade.test.ts: down failed: ${err.message}`));
    }
    const stopped = stopServersUnder(path.join(checkout, ".stagewise"));
    if (stopped.length > 0) {
        console.warn(`upgrade.test.ts: stopped servers no stack destroyed: ${stopped.join(", ")}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    console.log(`upgrade.test.ts timings (upgrading to ${UPGRADE_TO ?? "the working tree"}):\n  ${timings.join("\n  ")}`);
});

(canRun ? test : test.skip)(`the version before the restructuring (${BEFORE_RESTRUCTURING}) deploys prod (after ${BEFORE_PORTS_MOVED}'s), test, dev and the DR site`, async () => {
    if (fromPortsMoved) {
        // Production as the version of 2026-11-30 deployed it (its promotion gate needs the test stack to exist).
        checkOutInto(checkout, BEFORE_PORTS_MOVED);
        expect(fs.readFileSync(path.join(checkout, "Pulumi.prod.yaml"), "utf8")).toContain("port: 55432");
        for (const name of ["prod", "test"]) {
            await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: checkout }, { envVars });
        }
        await timed(`up prod at ${BEFORE_PORTS_MOVED}`, async () => (await stackOf("prod")).up({ color: "never" }));
        await query(await workUrl("prod"), `CREATE TABLE upgrade_marker (note text); INSERT INTO upgrade_marker VALUES ('written by ${BEFORE_PORTS_MOVED} on prod-db')`);
    }

    checkOutInto(checkout, BEFORE_RESTRUCTURING);
    log.length = 0;
    await ensureStacks(STACKS, opts());
    if (fromPortsMoved) {
        expect(log.join("")).toContain("prod: servers.prod-db.port stays 55432, where its deployed server listens");
        // The earlier upgrade (b392a4e's test): nothing created, deleted or replaced (its server is updated: its provider changed).
        const { steps } = await timed(`preview prod at ${BEFORE_RESTRUCTURING}`, () =>
            recordSteps(async (onEvent) => (await stackOf("prod")).preview({ color: "never", onEvent })),
        );
        expect(changingSteps("prod", steps)).toEqual([]);
    }
    declareStandbys();
    await timed(`up prod, test, dev, prod at ${BEFORE_RESTRUCTURING}`, () => upStages(MAIN_JOB_STACKS, opts()));
    await timed(`up dr at ${BEFORE_RESTRUCTURING}`, async () => (await stackOf("dr")).up({ color: "never" }));

    // A marker on every writable server; the hot standby replays production's.
    const urls = await markerUrls();
    for (const server of ["prod/prod-db", "test/test-db", "dev/dev-db"]) {
        await query(urls[server], `CREATE TABLE IF NOT EXISTS upgrade_marker (note text); INSERT INTO upgrade_marker VALUES ('written by ${BEFORE_RESTRUCTURING} on ${server}')`);
    }
    const prodNotes = [...(fromPortsMoved ? [`written by ${BEFORE_PORTS_MOVED} on prod-db`] : []), `written by ${BEFORE_RESTRUCTURING} on prod/prod-db`];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && JSON.stringify(await notes(urls["prod/prod-hot"]).catch(() => [])) !== JSON.stringify(prodNotes)) {
        await new Promise((resolve) => setTimeout(resolve, 200));
    }

    before = await snapshot();
    expect(Object.keys(before.servers)).toEqual(RUNNING);
    expect(before.inState).toEqual(SERVERS_OF);
    // pg_control's identifier is the one the stack reports.
    const prodOutputs = (await (await stackOf("prod")).outputs()).servers.value as Record<string, { port: number; systemIdentifier: string }>;
    expect(prodOutputs["prod-db"]).toMatchObject({ port: fromPortsMoved ? 55432 : 15432, systemIdentifier: before.servers["prod/prod-db"].systemIdentifier });
    // test and dev hold their own (no copy of production was asked for).
    expect(before.rows).toEqual({
        "prod/prod-db": prodNotes,
        "prod/prod-hot": prodNotes,
        "test/test-db": [`written by ${BEFORE_RESTRUCTURING} on test/test-db`],
        "dev/dev-db": [`written by ${BEFORE_RESTRUCTURING} on dev/dev-db`],
    });
});

(canRun ? test : test.skip)("with this version, no stack's preview creates anything but its stage component, deletes or replaces anything, and every server is the same", async () => {
    expect(before).toBeDefined(); // the deployment above
    checkOutInto(checkout, UPGRADE_TO);
    upgraded = true;
    log.length = 0;
    await ensureStacks(STACKS, opts());
    if (fromPortsMoved) {
        expect(log.join("")).toContain("prod: servers.prod-db.port stays 55432, where its deployed server listens");
    }
    declareStandbys();
    const problems: string[] = [];
    const same: Record<string, string[]> = {};
    for (const name of STACKS) {
        const { steps } = await timed(`preview ${name}`, () => recordSteps(async (onEvent) => (await stackOf(name)).preview({ color: "never", onEvent })));
        const changed = steps.filter((s) => s.op !== "same");
        if (changed.length > 0) {
            console.log(`upgrade preview of ${name}, steps other than same:\n  ${changed.map((s) => showStep(name, s)).join("\n  ")}`);
        }
        // The one thing the upgrade adds: the stage component each stage is now declared under (it holds
        // no server, file or process; its parts keep their state through aliases). The DR site's existed before.
        const newComponent = name === "dr" ? undefined : `urn:pulumi:${name}::stagewise::stagewise:index:${name === "prod" ? "ProductionStage" : "StagingStage"}::${name}`;
        problems.push(...upgradeProblems(name, steps.filter((s) => !(s.op === "create" && s.urn === newComponent))));
        same[name] = serverSteps(steps, "same");
    }
    // Nothing else created, nothing deleted or replaced; every server deployed before is there, unchanged.
    expect({ problems, same }).toEqual({ problems: [], same: before!.inState });
});

(canRun ? test : test.skip)("up with this version keeps every server's identity, rows and postmaster", async () => {
    expect(upgraded).toBe(true);
    await timed("up prod, test, dev, prod", () => upStages(MAIN_JOB_STACKS, opts()));
    await timed("up dr", async () => (await stackOf("dr")).up({ color: "never" }));
    const after = await snapshot();
    // Same postmaster (pid, data folder, start time, port) and system identifier for each server.
    expect(after.servers).toEqual(before!.servers);
    expect(after.rows).toEqual(before!.rows);
    expect(after.inState).toEqual(before!.inState);
    const drOutputs = (await (await stackOf("dr")).outputs()).disasterRecovery.value as { state: string; server: { inRecovery: boolean } };
    expect([drOutputs.state, drOutputs.server.inRecovery]).toEqual(["standing by", true]);
});

(canRun ? test : test.skip)("a second preview of every stack finds nothing to do", async () => {
    expect(upgraded).toBe(true);
    const changed: string[] = [];
    for (const name of STACKS) {
        const { result, steps } = await timed(`second preview ${name}`, () =>
            recordSteps(async (onEvent) => (await stackOf(name)).preview({ color: "never", onEvent, expectNoChanges: true }).catch((err: Error) => err)),
        );
        changed.push(...steps.filter((s) => !["same", "read"].includes(s.op)).map((s) => showStep(name, s)));
        if (result instanceof Error && changed.length === 0) {
            changed.push(`${name}: the preview failed: ${result.message.split("\n").filter((l) => /error/i.test(l)).join(" / ")}`);
        }
    }
    expect(changed).toEqual([]);
});

(canRun ? test : test.skip)("down destroys every stack's servers, the DR site first", async () => {
    log.length = 0;
    await timed("down dr, dev, test, prod", () => downStages(STACKS, opts()));
    destroyed = true;
    expect(log.join("").match(/=== \[\d\/4\] pulumi destroy \w+ ===/g)).toEqual([
        "=== [1/4] pulumi destroy dr ===",
        "=== [2/4] pulumi destroy dev ===",
        "=== [3/4] pulumi destroy test ===",
        "=== [4/4] pulumi destroy prod ===",
    ]);
    expect(runningServers(path.join(checkout, ".stagewise"))).toEqual({});
});
