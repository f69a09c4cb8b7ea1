// Role changes of a real primary and hot standby (standby/hot/switchover.ts): a planned switchover under
// writes loses nothing and leaves the old primary streaming from the new one without pg_rewind; a
// failover after kill -9 rejoins the old primary through pg_rewind, read-only.
import * as fs from "fs";
import * as path from "path";
import { bootstrap, ClusterLocation, initCluster, logFileOf, startCluster, writeSettings } from "../../components/postgres/cluster";
import { withClient } from "../../components/postgres/pg";
import { createHotStandby } from "../../components/standby/hot/replication";
import { applySynchronousNames, changePrimary, Member } from "../../components/standby/hot/switchover";
import { freePort } from "../harness/engine";
import { clusterLocation, removeCluster, tempDir } from "../harness/postgres";
import { missingCountSql, startWriters, waitForCommits } from "../harness/writers";

jest.setTimeout(300_000);

const PASSWORD = "group-super";
let root: string;
let a: Member;
let b: Member;
let c: Member;

const connection = (loc: ClusterLocation) => ({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database: "work" });
const on = (loc: ClusterLocation, sql: string, params: unknown[] = []) => withClient(connection(loc), async (c) => (await c.query(sql, params)).rows);
const logLines: string[] = [];
const log = (line: string) => logLines.push(line);

beforeAll(async () => {
    root = tempDir("stagewise-switchover-");
    a = { name: "node-a", loc: await clusterLocation(root, "node-a") };
    initCluster(a.loc, PASSWORD);
    writeSettings(a.loc, {});
    startCluster(a.loc);
    await bootstrap(a.loc, PASSWORD, { ownerRole: "engine", ownerPassword: "app", databases: [{ name: "work", schemaSql: "" }] });
    await on(a.loc, "CREATE TABLE acks (id bigint PRIMARY KEY)");
    const port = await freePort();
    b = { name: "node-b", loc: { ...a.loc, serverDir: path.join(root, "node-b"), port } };
    await createHotStandby({ name: b.name, loc: b.loc, primary: { host: a.loc.host, port: a.loc.port, superuserPassword: PASSWORD }, slot: "stagewise_node_b", settings: {} });
    c = { name: "node-c", loc: { ...a.loc, serverDir: path.join(root, "node-c"), port: await freePort() } };
    await createHotStandby({ name: c.name, loc: c.loc, primary: { host: a.loc.host, port: a.loc.port, superuserPassword: PASSWORD }, slot: "stagewise_node_c", settings: {} });
});

afterEach(() => {
    if (expect.getState().assertionCalls !== expect.getState().numPassingAsserts) {
        for (const m of [a, b, c]) {
            console.log(`${m.name} log:\n${fs.existsSync(logFileOf(m.loc)) ? fs.readFileSync(logFileOf(m.loc), "utf8").split("\n").slice(-30).join("\n") : "(none)"}`);
        }
        console.log(logLines.join("\n"));
    }
});

afterAll(() => {
    removeCluster(a.loc);
    removeCluster(b.loc);
    removeCluster(c.loc);
    fs.rmSync(root, { recursive: true, force: true });
});

test("planned switchover under writes: nothing lost, the old primary streams from the new one, no rewind", async () => {
    const writers = startWriters(connection(a.loc), "acks", 3);
    await waitForCommits(writers, 200);
    const change = await changePrimary(a, b, [c], PASSWORD, [], log);
    const acked = await writers.stop();
    expect(change).toMatchObject({ kind: "switchover", from: "node-a", to: "node-b", rejoined: ["node-a", "node-c"], needsRebuild: [] });
    expect(await on(b.loc, missingCountSql("acks"), [acked])).toEqual([{ missing: 0 }]);
    expect(await on(b.loc, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    expect(await on(a.loc, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);
    expect(await on(b.loc, "SELECT application_name, state FROM pg_stat_replication ORDER BY 1")).toEqual([
        { application_name: "node-a", state: "streaming" },
        { application_name: "node-c", state: "streaming" }, // the other standby follows the new primary
    ]);
    expect(await on(a.loc, "SELECT count(*)::int AS n FROM pg_replication_slots")).toEqual([{ n: 0 }]); // a standby keeps no slots
    expect(logLines.some((l) => l.includes("pg_rewind"))).toBe(false);
});

test("failover after kill -9 of a primary with a synchronous standby: nothing acknowledged is lost, the standby is promoted, the old primary rejoins through pg_rewind", async () => {
    // node-b is the primary now; node-a streams from it, synchronously.
    await applySynchronousNames(b.loc, PASSWORD, ["node-a"]);
    expect(await on(b.loc, "SELECT application_name, sync_state FROM pg_stat_replication ORDER BY 1")).toEqual([
        { application_name: "node-a", sync_state: "sync" },
        { application_name: "node-c", sync_state: "async" },
    ]);
    const writers = startWriters(connection(b.loc), "acks", 3, 1_000_000);
    await waitForCommits(writers, 200);
    const pid = Number(fs.readFileSync(path.join(b.loc.serverDir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, "SIGKILL");
    const acked = await writers.stop();
    const change = await changePrimary(b, a, [c], PASSWORD, [], log);
    expect(change).toMatchObject({ kind: "failover", from: "node-b", to: "node-a", checkpointLsn: null, rejoined: ["node-b", "node-c"], needsRebuild: [] });
    expect(await on(a.loc, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    expect(await on(b.loc, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);
    expect(await on(a.loc, "SELECT application_name, state FROM pg_stat_replication ORDER BY 1")).toEqual([
        { application_name: "node-b", state: "streaming" },
        { application_name: "node-c", state: "streaming" },
    ]);
    expect(await on(a.loc, missingCountSql("acks"), [acked])).toEqual([{ missing: 0 }]);
    await on(a.loc, "INSERT INTO acks VALUES (-1)");
});

test("a failover never promotes a standby that is behind another: refused, naming the one further ahead; that one is promoted without loss", async () => {
    // node-a is the primary now; node-b and node-c stream from it. node-c stops receiving WAL.
    await on(c.loc, "ALTER SYSTEM SET primary_conninfo = ''");
    await on(c.loc, "SELECT pg_reload_conf()");
    await until(async () => (await on(c.loc, "SELECT count(*)::int AS n FROM pg_stat_wal_receiver"))[0].n === 0);
    await on(a.loc, "INSERT INTO acks SELECT -1000 - g FROM generate_series(1, 100) g");
    await until(async () => (await on(b.loc, "SELECT count(*)::int AS n FROM acks WHERE id <= -1000"))[0].n === 100);
    const pid = Number(fs.readFileSync(path.join(a.loc.serverDir, "pgdata", "postmaster.pid"), "utf8").split("\n")[0]);
    process.kill(pid, "SIGKILL");

    await expect(changePrimary(a, c, [b], PASSWORD, [], log)).rejects.toThrow(
        /^failover aborted: node-b has received the gone primary's WAL up to [0-9A-F]+\/[0-9A-F]+, [1-9]\d* bytes beyond node-c \([0-9A-F]+\/[0-9A-F]+\); promoting node-c would lose the commits only node-b has\. Declare node-b the primary instead, or stop node-b if it must not be used \(nothing was promoted\)$/,
    );
    expect(await on(b.loc, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);
    expect(await on(c.loc, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);

    const change = await changePrimary(a, b, [c], PASSWORD, [], log);
    expect(change).toMatchObject({ kind: "failover", from: "node-a", to: "node-b", rejoined: ["node-a", "node-c"], needsRebuild: [] });
    expect(await on(b.loc, "SELECT count(*)::int AS n FROM acks WHERE id <= -1000")).toEqual([{ n: 100 }]);
    await until(async () => (await on(c.loc, "SELECT count(*)::int AS n FROM acks WHERE id <= -1000"))[0].n === 100); // node-c follows node-b
});

async function until(condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
        if (Date.now() > deadline) {
            throw new Error(`condition not met within ${timeoutMs} ms`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}
