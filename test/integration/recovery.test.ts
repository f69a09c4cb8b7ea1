// Point-in-time recovery against a real archiving primary: markers written into two databases over
// time; a restore to an instant between markers, and to a named restore point, holds exactly the
// markers up to that instant in both databases. Also the tail of the log, both ways.
import * as fs from "fs";
import * as path from "path";
import { bootstrap, chownToServerUser, ClusterLocation, initCluster, startCluster, stopCluster, writeSettings } from "../../components/postgres/cluster";
import { withClient } from "../../components/postgres/pg";
import { backupsLocation, listBaseBackups, pruneBaseBackups, takeBaseBackup } from "../../components/backup/pitrBackups";
import { restoreToInstant } from "../../components/backup/restore";
import { createRestorePoint, saveTailOfLog } from "../../components/dr/tailOfLog";
import { planLogShipping, shippingSettings } from "../../components/shipping/schedule";
import { freePort } from "../harness/engine";
import { clusterLocation, removeCluster, tempDir } from "../harness/postgres";

jest.setTimeout(240_000);

const PASSWORD = "prod-super";
let root: string;
let prod: ClusterLocation;
let archive: string;
const restored: ClusterLocation[] = [];
/** Commit bounds of each marker: committed after `before` and before `after` (server clock). */
const markers: { n: number; before: Date; after: Date }[] = [];

const sql = (loc: ClusterLocation, database: string, text: string, params: unknown[] = []) =>
    withClient({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database }, async (c) => (await c.query(text, params)).rows);
const clock = async () => (await sql(prod, "postgres", "SELECT clock_timestamp() AS t"))[0].t as Date;

async function writeMarker(n: number): Promise<void> {
    const before = await clock();
    await sql(prod, "work", "INSERT INTO marker VALUES ($1)", [n]);
    await sql(prod, "business", "INSERT INTO marker VALUES ($1)", [n]);
    markers.push({ n, before, after: await clock() });
    await new Promise((r) => setTimeout(r, 300));
}

async function newServer(name: string): Promise<ClusterLocation> {
    const loc = { ...prod, serverDir: path.join(root, name), port: await freePort() };
    restored.push(loc);
    return loc;
}

const markersOn = async (loc: ClusterLocation) =>
    Object.fromEntries(
        await Promise.all(["work", "business"].map(async (db) => [db, (await sql(loc, db, "SELECT n FROM marker ORDER BY n")).map((r) => r.n)])),
    );

beforeAll(async () => {
    root = tempDir("stagewise-recovery-");
    archive = path.join(root, "wal-archive");
    fs.mkdirSync(archive, { mode: 0o700 });
    prod = await clusterLocation(root, "prod");
    chownToServerUser(prod, archive);
    const plan = planLogShipping({ rpo: "4h" });
    if (!plan.ok) throw new Error(plan.problems.join("; "));
    const folders = { archive, incoming: path.join(root, "incoming"), applied: path.join(root, "applied") };
    initCluster(prod, PASSWORD);
    writeSettings(prod, { ...shippingSettings(plan.plan, folders).primary, wal_level: "replica" });
    startCluster(prod);
    await bootstrap(prod, PASSWORD, {
        ownerRole: "engine",
        ownerPassword: "app",
        databases: ["work", "business"].map((name) => ({ name, schemaSql: "CREATE TABLE IF NOT EXISTS marker (n int PRIMARY KEY)" })),
    });
    const backups = backupsLocation(prod.binDir, path.join(root, "backups"), prod.osUser);
    await takeBaseBackup(backups, { host: prod.host, port: prod.port, superuserPassword: PASSWORD });
    for (const n of [1, 2]) await writeMarker(n);
    await createRestorePoint({ host: prod.host, port: prod.port, superuserPassword: PASSWORD }, "before-3");
    for (const n of [3, 4]) await writeMarker(n);
});

afterAll(() => {
    for (const loc of restored) removeCluster(loc);
    removeCluster(prod);
    fs.rmSync(root, { recursive: true, force: true });
});

const source = () => ({ host: prod.host, port: prod.port, superuserPassword: PASSWORD });
const backupsDir = () => path.join(root, "backups");

test("a base backup is verified and described by its manifest; pruning keeps the newest", async () => {
    const [first] = listBaseBackups(backupsDir());
    expect(first).toMatchObject({ timeline: 1, verified: true });
    expect(first.startLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(first.bytes).toBeGreaterThan(1_000_000);
    expect(new Date(first.finishedAt).getTime()).toBeLessThanOrEqual(markers[0].before.getTime());
    const pruneDir = path.join(root, "prune");
    const loc = backupsLocation(prod.binDir, pruneDir, prod.osUser);
    const a = await takeBaseBackup(loc, source());
    const b = await takeBaseBackup(loc, source());
    expect(listBaseBackups(pruneDir).map((x) => x.id)).toEqual([a.id, b.id]);
    expect(pruneBaseBackups(pruneDir, 1)).toEqual([a.id]);
    expect(listBaseBackups(pruneDir).map((x) => x.id)).toEqual([b.id]);
});

test("the tail of the log is archived by the reachable primary", async () => {
    const tail = await saveTailOfLog({ primary: source(), archive, tailFolder: path.join(root, "tail") });
    expect(tail.method).toBe("archived");
    expect(fs.existsSync(path.join(archive, tail.segments[0]))).toBe(true);
});

test("recovery to an instant between markers 2 and 3 holds exactly markers 1 and 2 in both databases", async () => {
    const [, two, three] = markers;
    const target = new Date(two.after.getTime() + (three.before.getTime() - two.after.getTime()) / 2);
    const loc = await newServer("pitr-time");
    const result = await restoreToInstant({ backupsDir: backupsDir(), walFolders: [archive], target: { time: target.toISOString() }, loc, superuserPassword: PASSWORD });
    expect(await markersOn(loc)).toEqual({ work: [1, 2], business: [1, 2] });
    // The last transaction applied is marker 2's commit in business: between its bounds, before the target.
    expect(new Date(result.recoveredTo!).getTime()).toBeGreaterThanOrEqual(two.before.getTime());
    expect(new Date(result.recoveredTo!).getTime()).toBeLessThanOrEqual(target.getTime());
    expect(await sql(loc, "postgres", "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    stopCluster(loc);
});

test("recovery to a named restore point holds exactly the markers before it", async () => {
    const loc = await newServer("pitr-name");
    await restoreToInstant({ backupsDir: backupsDir(), walFolders: [archive], target: { name: "before-3" }, loc, superuserPassword: PASSWORD });
    expect(await markersOn(loc)).toEqual({ work: [1, 2], business: [1, 2] });
    stopCluster(loc);
});

test("recovery to the latest archived WAL holds every marker", async () => {
    const loc = await newServer("pitr-latest");
    await restoreToInstant({ backupsDir: backupsDir(), walFolders: [archive], target: { latest: true }, loc, superuserPassword: PASSWORD });
    expect(await markersOn(loc)).toEqual({ work: [1, 2, 3, 4], business: [1, 2, 3, 4] });
    stopCluster(loc);
});

test("targets that cannot be reached are refused before anything is made", async () => {
    const loc = await newServer("pitr-refused");
    const [first] = listBaseBackups(backupsDir());
    const now = new Date("2026-11-22T10:00:00.000Z");
    await expect(
        restoreToInstant({ backupsDir: backupsDir(), walFolders: [archive], target: { time: "2026-11-22T11:00:00.000Z" }, loc, superuserPassword: PASSWORD, now }),
    ).rejects.toThrow('cannot recover to time 2026-11-22T11:00:00.000Z: 2026-11-22T11:00:00.000Z is in the future (now is 2026-11-22T10:00:00.000Z): no WAL can reach it yet');
    await expect(
        restoreToInstant({ backupsDir: backupsDir(), walFolders: [archive], target: { time: "2020-01-01T00:00:00.000Z" }, loc, superuserPassword: PASSWORD }),
    ).rejects.toThrow(
        `cannot recover to time 2020-01-01T00:00:00.000Z: 2020-01-01T00:00:00.000Z is before the oldest base backup (complete at ${first.finishedAt}); the earliest instant that can be recovered is ${first.finishedAt}`,
    );
    expect(fs.existsSync(loc.serverDir)).toBe(false);
});

test("an unknown restore point fails with the server's reason and leaves no data directory", async () => {
    const loc = await newServer("pitr-unknown");
    const failure = await restoreToInstant({ backupsDir: backupsDir(), walFolders: [archive], target: { name: "never-made" }, loc, superuserPassword: PASSWORD }).catch(
        (err: Error) => err.message,
    );
    expect(failure).toMatch(/^recovery to restore point "never-made" failed, nothing was kept: /);
    expect(failure).toContain("recovery ended before configured recovery target was reached");
    expect(fs.existsSync(path.join(loc.serverDir, "pgdata"))).toBe(false);
});

test("with the primary down, the tail is copied from its data folder: recovery then reaches a marker never archived", async () => {
    await writeMarker(5);
    stopCluster(prod); // the segment being written when it stopped was never archived (archive_timeout is 1h)
    const tailFolder = path.join(root, "tail");
    const tail = await saveTailOfLog({ primary: source(), primaryDataDir: path.join(prod.serverDir, "pgdata"), archive, tailFolder, own: (f) => chownToServerUser(prod, f) });
    expect(tail.method).toBe("copied");
    expect(tail.segments.length).toBeGreaterThan(0);
    for (const s of tail.segments) expect(fs.existsSync(path.join(archive, s))).toBe(false);
    const loc = await newServer("pitr-tail");
    await restoreToInstant({ backupsDir: backupsDir(), walFolders: [archive, tailFolder], target: { latest: true }, loc, superuserPassword: PASSWORD });
    expect(await markersOn(loc)).toEqual({ work: [1, 2, 3, 4, 5], business: [1, 2, 3, 4, 5] });
    stopCluster(loc);
});
