// Log shipping and a warm standby on real servers: the primary archives WAL, the shipper copies it
// into the standby's incoming folder (atomically, never overwriting, never twice), the standby
// applies it and moves what it applied away, and a failing archive command shows in pg_stat_archiver.
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { bootstrap, ClusterLocation } from "../../components/postgres/cluster";
import { withClient } from "../../components/postgres/pg";
import { archiverStatus, ensureFolder, shipperStatus, startShipper, stopShipper, waitForShippingRun } from "../../components/shipping/shipper";
import { createWarmStandby, removeWarmStandby, WarmStandbySpec, warmStandbyStatus } from "../../components/standby/warm/warmReplay";
import { planLogShipping, shippingSettings } from "../../components/shipping/schedule";
import { freePort } from "../harness/engine";
import { clusterLocation, processesMentioning, removeCluster, runCluster, tempDir } from "../harness/postgres";
import { eventually as pollUntil } from "../harness/wait";

jest.setTimeout(240_000);

const PASSWORD = "primary-super";
// Test-sized schedule: a log backup every 5 s, shipping every second, no apply delay.
const plan = (() => {
    const result = planLogShipping({ rpo: "1m", logBackupInterval: "5s", shipInterval: "1s", applyDelay: "0s" });
    if (!result.ok) {
        throw new Error(result.problems.join("\n"));
    }
    return result.plan;
})();

let root: string;
let primary: ClusterLocation;
let folders: { archive: string; incoming: string; applied: string };
let stateDir: string;
let spec: WarmStandbySpec;

const superuser = (loc: ClusterLocation) => ({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database: "work" });
const on = (loc: ClusterLocation, sql: string) => withClient(superuser(loc), async (c) => (await c.query(sql)).rows);

/** Polled every 200 ms, for 60 s unless told. */
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => pollUntil(what, probe, timeoutMs, 200);

beforeAll(async () => {
    root = tempDir("stagewise-warm-");
    primary = await clusterLocation(root, "primary");
    folders = { archive: path.join(root, "wal-archive"), incoming: path.join(root, "ship", "incoming"), applied: path.join(root, "ship", "applied") };
    for (const dir of Object.values(folders)) {
        ensureFolder(dir, primary.osUser);
    }
    stateDir = path.join(root, "ship", "state");
    const settings = shippingSettings(plan, folders, primary.binDir);
    runCluster(primary, PASSWORD, settings.primary);
    await bootstrap(primary, PASSWORD, { ownerRole: "engine", ownerPassword: "app", databases: [{ name: "work", schemaSql: "CREATE TABLE IF NOT EXISTS marker (id int, note text)" }] });
    spec = {
        loc: { ...primary, serverDir: path.join(root, "warm"), port: await freePort() },
        primary: { host: primary.host, port: primary.port, superuserPassword: PASSWORD },
        settings: settings.standby,
    };
});

afterAll(async () => {
    await stopShipper(stateDir).catch(() => undefined);
    try {
        removeWarmStandby(spec);
    } catch {
        // never created
    }
    removeCluster(primary);
    fs.rmSync(root, { recursive: true, force: true });
});

test("the shipper copies archived WAL into the incoming folder and records what it shipped", async () => {
    await on(primary, "SELECT pg_switch_wal()"); // the bootstrap's WAL goes to the archive
    const archived = await eventually("a segment in the archive", async () => (await archiverStatus(superuser(primary))).lastArchivedWal ?? undefined);
    const pid = startShipper({ from: folders.archive, to: folders.incoming, intervalMs: plan.shipIntervalMs, osUser: primary.osUser, stateDir });
    expect(startShipper({ from: folders.archive, to: folders.incoming, intervalMs: plan.shipIntervalMs, osUser: primary.osUser, stateDir })).toBe(pid);
    const status = await waitForShippingRun(stateDir);
    expect(status).toMatchObject({ running: true, pid, lastError: null });
    expect(fs.readdirSync(folders.incoming)).toContain(archived);
    // Same bytes (compared as digests: jest's deep equality over 16 MB takes a minute).
    const digest = (file: string) => crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    expect(digest(path.join(folders.incoming, archived))).toBe(digest(path.join(folders.archive, archived)));
    // Run as the servers' OS user, in its own session (so it outlives whoever started it).
    const stat = fs.statSync(path.join(folders.incoming, archived));
    expect(stat.uid).toBe(fs.statSync(folders.archive).uid);
    expect(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[3]).toBe(String(pid)); // session id = own pid
});

test("a warm standby applies shipped logs: a marker committed on the primary shows up once its segment is shipped", async () => {
    await createWarmStandby(spec);
    expect(await warmStandbyStatus(spec)).toMatchObject({ running: true, inRecovery: true });
    expect(await on(spec.loc, "SELECT current_setting('port') AS port, current_setting('restore_command') AS rc")).toEqual([
        { port: String(spec.loc.port), rc: `test -f ${folders.incoming}/%f && cp ${folders.incoming}/%f %p` },
    ]);
    // No streaming: the standby reaches the primary only through shipped files.
    expect(await on(primary, "SELECT count(*)::int AS n FROM pg_stat_replication")).toEqual([{ n: 0 }]);

    await on(primary, "INSERT INTO marker VALUES (1, 'shipped')");
    const committedAt = Date.now();
    await on(primary, "SELECT pg_switch_wal()");
    const rows = await eventually("the marker on the warm standby", async () => {
        const found = await on(spec.loc, "SELECT id, note FROM marker");
        return found.length > 0 ? found : undefined;
    });
    const seenAfterMs = Date.now() - committedAt;
    expect(rows).toEqual([{ id: 1, note: "shipped" }]);
    // Bound: shipping interval + the standby's retry interval (1 s each here), with a generous 30 s
    // margin for a loaded 2-core machine — this checks "within the schedule", not speed.
    expect(seenAfterMs).toBeLessThan(plan.shipIntervalMs + 1_000 + 30_000);
    const status = await warmStandbyStatus(spec);
    expect(status.lastReplayedAt).not.toBeNull();
    await expect(on(spec.loc, "INSERT INTO marker VALUES (2, 'no')")).rejects.toThrow("cannot execute INSERT in a read-only transaction");
});

test("without a switch, archive_timeout closes the segment: a commit arrives within log backup + shipping intervals", async () => {
    await on(primary, "INSERT INTO marker VALUES (3, 'timeout')");
    const committedAt = Date.now();
    await eventually("the second marker on the warm standby", async () => ((await on(spec.loc, "SELECT 1 FROM marker WHERE id = 3")).length > 0 ? true : undefined));
    // 5 s + 1 s + 1 s retry by the schedule; 30 s margin as above.
    expect(Date.now() - committedAt).toBeLessThan(plan.logBackupIntervalMs + plan.shipIntervalMs + 1_000 + 30_000);
});

test("applied segments move to the applied folder and are never shipped again", async () => {
    await on(primary, "CHECKPOINT");
    await on(primary, "SELECT pg_switch_wal()");
    const applied = await eventually("applied segments", async () => {
        await on(spec.loc, "CHECKPOINT"); // a restartpoint (once the primary's checkpoint is applied) runs archive_cleanup_command
        const names = fs.readdirSync(folders.applied).filter((f) => /^[0-9A-F]{24}$/.test(f));
        return names.length > 0 ? names : undefined;
    });
    await waitForShippingRun(stateDir);
    await waitForShippingRun(stateDir);
    const incoming = fs.readdirSync(folders.incoming);
    expect(applied.filter((name) => incoming.includes(name))).toEqual([]);
    expect(incoming.filter((f) => f.startsWith("."))).toEqual([]); // no temporary names left behind
    const { newestShipped } = shipperStatus(stateDir);
    expect(fs.readdirSync(folders.archive)).toContain(newestShipped);
    expect(applied.every((name) => name < newestShipped!)).toBe(true);
});

test("a shipped file is never overwritten, and a temporary name is never shipped", async () => {
    const from = path.join(root, "fake-archive");
    const to = path.join(root, "fake-incoming");
    const fakeState = path.join(root, "fake-state");
    fs.mkdirSync(from);
    fs.mkdirSync(to);
    fs.writeFileSync(path.join(from, "000000010000000000000001"), "archived one");
    fs.writeFileSync(path.join(from, "000000010000000000000002"), "archived two");
    fs.writeFileSync(path.join(from, ".000000010000000000000003.part"), "half");
    fs.writeFileSync(path.join(to, "000000010000000000000001"), "already here");
    for (const dir of [from, to]) {
        childProcess.execFileSync("chown", ["-R", primary.osUser ?? String(process.getuid!()), dir]);
    }
    startShipper({ from, to, intervalMs: 1_000, osUser: primary.osUser, stateDir: fakeState });
    try {
        expect(await waitForShippingRun(fakeState)).toMatchObject({ newestShipped: "000000010000000000000002", lastError: null });
        expect(fs.readdirSync(to).sort()).toEqual(["000000010000000000000001", "000000010000000000000002"]);
        expect(fs.readFileSync(path.join(to, "000000010000000000000001"), "utf8")).toBe("already here");
        expect(fs.readFileSync(path.join(to, "000000010000000000000002"), "utf8")).toBe("archived two");
        // A file the standby has moved away is not shipped again.
        fs.rmSync(path.join(to, "000000010000000000000002"));
        await waitForShippingRun(fakeState);
        expect(fs.readdirSync(to)).toEqual(["000000010000000000000001"]);
    } finally {
        await stopShipper(fakeState);
    }
});

test("a failing archive command shows in pg_stat_archiver with the file and time; repaired, it clears", async () => {
    fs.chmodSync(folders.archive, 0o500); // the servers' OS user can no longer write into it
    await on(primary, "INSERT INTO marker VALUES (5, 'stuck')");
    const [{ name }] = await on(primary, "SELECT pg_walfile_name(pg_current_wal_lsn()) AS name");
    await on(primary, "SELECT pg_switch_wal()");
    const failing = await eventually("the archiver failing", async () => {
        const s = await archiverStatus(superuser(primary));
        return s.failing ? s : undefined;
    });
    expect(failing.lastFailedWal).toBe(name);
    expect(failing.lastError).toBe(
        `archiving WAL file ${name} is failing (last failure ${failing.lastFailedAt}; last success ${failing.lastArchivedAt}): ` +
            "nothing newer reaches the archive or the standbys. Check that the archive folder exists and is writable by the servers' OS user, " +
            "that its disk has room, and the server log for the archive_command's error",
    );

    fs.chmodSync(folders.archive, 0o700);
    await on(primary, "INSERT INTO marker VALUES (6, 'unstuck')");
    await on(primary, "SELECT pg_switch_wal()"); // wakes the archiver, which retries the stuck segment first
    const repaired = await eventually("the archiver repaired", async () => {
        const s = await archiverStatus(superuser(primary));
        return s.failing ? undefined : s;
    });
    expect(repaired.lastError).toBeNull();
    expect(fs.existsSync(path.join(folders.archive, name))).toBe(true);
});

test("stopping the shipper ends its process group; its status says so", async () => {
    const { pid } = shipperStatus(stateDir);
    await stopShipper(stateDir);
    expect(shipperStatus(stateDir)).toMatchObject({ running: false, pid: null });
    expect(processesMentioning(stateDir)).toEqual([]);
    const state = fs.existsSync(`/proc/${pid}/stat`) ? fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0] : "gone";
    expect(["gone", "Z"]).toContain(state); // ended (a zombie until its parent, this process, reaps it)
});
