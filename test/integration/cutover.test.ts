// Warm DR servers on real PostgreSQL: they apply shipped WAL while standing by; a cutover to an
// instant one has already replayed past still recovers to exactly that instant (from the base
// backup, the warm folder set aside); one that has not recovers in place; a refused cutover leaves
// the warm server standing by.
import * as fs from "fs";
import * as path from "path";
import { bootstrap, chownToServerUser, clusterStatus, ClusterLocation, stopCluster } from "../../components/postgres/cluster";
import { withClient } from "../../components/postgres/pg";
import { backupsLocation, takeBaseBackup } from "../../components/backup/pitrBackups";
import { createWarmServer } from "../../components/backup/restore";
import { cutOver, shipNow } from "../../components/dr/cutover";
import { archiveSettings, planLogShipping } from "../../components/shipping/schedule";
import { freePort } from "../harness/engine";
import { clusterLocation, removeCluster, runCluster, tempDir } from "../harness/postgres";

jest.setTimeout(240_000);

const PASSWORD = "prod-super";
let root: string;
let prod: ClusterLocation;
let warm: ClusterLocation;
/** A second warm server, fed by hand from its own folder: it has applied markers 1 and 2 only. */
let behind: ClusterLocation;
const folders = { archive: "", incoming: "", incomingBehind: "", tail: "", backups: "" };
const markers: { n: number; before: Date; after: Date }[] = [];

const sql = (loc: ClusterLocation, database: string, text: string) =>
    withClient({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database }, async (c) => (await c.query(text)).rows);
const own = (file: string) => chownToServerUser(prod, file);

beforeAll(async () => {
    root = tempDir("stagewise-cutover-");
    for (const key of Object.keys(folders) as (keyof typeof folders)[]) folders[key] = path.join(root, key);
    fs.mkdirSync(folders.archive, { mode: 0o700 });
    prod = await clusterLocation(root, "prod");
    chownToServerUser(prod, folders.archive);
    const plan = planLogShipping({ rpo: "4h" });
    if (!plan.ok) throw new Error(plan.problems.join("; "));
    runCluster(prod, PASSWORD, archiveSettings(plan.plan, folders.archive));
    await bootstrap(prod, PASSWORD, {
        ownerRole: "engine",
        ownerPassword: "app",
        databases: ["work", "business"].map((name) => ({ name, schemaSql: "CREATE TABLE IF NOT EXISTS marker (n int PRIMARY KEY)" })),
    });
    // A primary with a synchronous standby: its ALTER SYSTEM setting travels in the base backup (never reloaded here).
    await sql(prod, "postgres", `ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 ("prod-hot")'`);
    await takeBaseBackup(backupsLocation(prod.binDir, folders.backups, prod.osUser), { host: prod.host, port: prod.port, superuserPassword: PASSWORD });
    await sql(prod, "postgres", "ALTER SYSTEM RESET synchronous_standby_names");
    for (const folder of [folders.incoming, folders.incomingBehind]) {
        fs.mkdirSync(folder, { mode: 0o700 });
        own(folder);
        shipNow(folders.archive, folder, own);
    }
    warm = { ...prod, serverDir: path.join(root, "prod-db"), port: await freePort() };
    createWarmServer(warmRequest(warm, folders.incoming));
    behind = { ...prod, serverDir: path.join(root, "behind", "prod-db"), port: await freePort() };
    fs.mkdirSync(path.dirname(behind.serverDir), { mode: 0o755 });
    createWarmServer(warmRequest(behind, folders.incomingBehind));
});

const warmRequest = (loc: ClusterLocation, incoming: string) => ({
    backupsDir: folders.backups,
    walFolders: [incoming],
    loc,
    minApplyDelay: "0s",
    settings: { wal_retrieve_retry_interval: "1s" },
});

async function writeMarker(n: number): Promise<void> {
    const before = (await sql(prod, "postgres", "SELECT clock_timestamp() AS t"))[0].t as Date;
    await sql(prod, "work", `INSERT INTO marker VALUES (${n})`);
    await sql(prod, "business", `INSERT INTO marker VALUES (${n})`);
    markers.push({ n, before, after: (await sql(prod, "postgres", "SELECT clock_timestamp() AS t"))[0].t as Date });
    await new Promise((r) => setTimeout(r, 300));
}

/** Closes the current WAL segment and waits until production has archived it. */
async function switchAndArchive(): Promise<void> {
    const segment = (await sql(prod, "postgres", "SELECT pg_walfile_name(pg_switch_wal()) AS s"))[0].s as string;
    while (!fs.existsSync(path.join(folders.archive, segment))) await new Promise((r) => setTimeout(r, 100));
}

async function waitForMarkers(loc: ClusterLocation, count: number, incoming: string): Promise<number> {
    let applied = 0;
    for (let i = 0; i < 300 && applied < count; i++) {
        shipNow(folders.archive, incoming, own);
        applied = Number((await sql(loc, "business", "SELECT count(*) AS n FROM marker"))[0].n);
        await new Promise((r) => setTimeout(r, 200));
    }
    return applied;
}

/** Cuts the warm server `loc` (standing by on `incoming`) over to the instant halfway between markers 2 and 3. */
async function cutOverBetweenTwoAndThree(loc: ClusterLocation, incoming: string, tailFolder: string) {
    const [, two, three] = markers;
    const target = new Date(two.after.getTime() + (three.before.getTime() - two.after.getTime()) / 2).toISOString();
    const report = await cutOver({
        target: { time: target },
        production: { host: prod.host, port: prod.port, superuserPassword: PASSWORD },
        archive: folders.archive,
        incoming,
        tailFolder,
        backupsDir: folders.backups,
        loc,
        superuserPassword: PASSWORD,
        standingBy: warmRequest(loc, incoming),
    });
    return { target, report };
}

afterAll(() => {
    // Any of them may not exist when beforeAll failed: production must still be stopped.
    for (const loc of [behind, warm, prod]) if (loc !== undefined) removeCluster(loc);
    fs.rmSync(root, { recursive: true, force: true });
});

test("warm servers stand by in recovery and apply shipped WAL", async () => {
    for (const n of [1, 2]) await writeMarker(n);
    await switchAndArchive();
    expect(await waitForMarkers(behind, 2, folders.incomingBehind)).toBe(2); // nothing newer is shipped to it
    for (const n of [3, 4]) await writeMarker(n);
    await switchAndArchive();
    expect(await waitForMarkers(warm, 4, folders.incoming)).toBe(4);
    for (const loc of [warm, behind]) {
        expect(await sql(loc, "postgres", "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);
    }
});

test("a refused cutover changes nothing: the warm server still stands by", async () => {
    await expect(
        cutOver({ target: { time: "2020-01-01T00:00:00Z" }, archive: folders.archive, incoming: folders.incoming, tailFolder: folders.tail, backupsDir: folders.backups, loc: warm, superuserPassword: PASSWORD }),
    ).rejects.toThrow(/^cannot recover to time 2020-01-01T00:00:00Z: 2020-01-01T00:00:00\.000Z is before the oldest base backup .*; nothing was changed$/);
    expect(clusterStatus(warm)).toBe("running");
    expect(await sql(warm, "postgres", "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);
});

test("cutover to an instant the warm server has passed: exactly markers 1 and 2 in both databases, promoted", async () => {
    const { target, report } = await cutOverBetweenTwoAndThree(warm, folders.incoming, folders.tail);
    expect(report).toMatchObject({ target: `time ${target}`, tailOfLog: { method: "archived" }, method: "from base backup" });
    for (const db of ["work", "business"]) {
        expect(await sql(warm, db, "SELECT n FROM marker ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }]);
    }
    expect(await sql(warm, "postgres", "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    // It waits for no standby of production's on commit (it would wait forever).
    expect(await sql(warm, "postgres", "SELECT current_setting('synchronous_standby_names') AS s")).toEqual([{ s: "" }]);
    // The warm folder set aside is gone once the recovered one has been promoted.
    expect(fs.readdirSync(warm.serverDir).filter((f) => !f.startsWith(".s.PGSQL")).sort()).toEqual(["cutover.json", "pgdata", "server.log", "standing-by.json"]);
    stopCluster(warm);
});

test("cutover of a warm server that has not passed the target: it replays the rest in place, to exactly that instant", async () => {
    const [, two] = markers;
    const { target, report } = await cutOverBetweenTwoAndThree(behind, folders.incomingBehind, path.join(root, "tail-behind"));
    expect(report).toMatchObject({ target: `time ${target}`, method: "in place" });
    expect(new Date(report.recoveredTo!).getTime()).toBeGreaterThanOrEqual(two.before.getTime());
    expect(new Date(report.recoveredTo!).getTime()).toBeLessThanOrEqual(new Date(target).getTime());
    for (const db of ["work", "business"]) {
        expect(await sql(behind, db, "SELECT n FROM marker ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }]);
    }
    expect(await sql(behind, "postgres", "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    expect(await sql(behind, "postgres", "SELECT current_setting('synchronous_standby_names') AS s")).toEqual([{ s: "" }]);
    stopCluster(behind);
});
