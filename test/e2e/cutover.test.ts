// The DR site as its own stack through the real engine: production archives WAL, the DR stack keeps
// base backups and shipped WAL with its server off (cold), and a cutover to an instant between two
// markers recovers both databases to exactly that instant, promotes the server and gives the DR
// site its own licence rows back — the key never in the backend's state files.
import { Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as path from "path";
import { freePort, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { createRestorePoint } from "../../components/dr/tailOfLog";
import { stopEngineUnit } from "../../components/engine/unitProcesses";
import { stopShipper } from "../../components/shipping/shipper";
import { queryUrl } from "../harness/postgres";

jest.setTimeout(600_000);

const PRODUCTION = "organization/stagewise/prod";
const DR_KEY = "LIC-DR-7f3a-SECRET";
let workspace: ThrowawayWorkspace;
let prod: Stack;
let dr: Stack;
let drPort: number;
let warm: Stack;
let warmPort: number;
let prodUrls: Record<string, string>;
/** Commit bounds of each marker on production's clock. */
const markers: { n: number; before: Date; after: Date }[] = [];

const clock = async () => (await queryUrl<{ t: Date }>(prodUrls.work, "SELECT clock_timestamp() AS t"))[0].t;

async function writeMarker(n: number): Promise<void> {
    const before = await clock();
    await queryUrl(prodUrls.work, `INSERT INTO marker VALUES (${n})`);
    await queryUrl(prodUrls.business, `INSERT INTO marker VALUES (${n})`);
    markers.push({ n, before, after: await clock() });
    await new Promise((r) => setTimeout(r, 300));
}

beforeAll(async () => {
    workspace = throwawayWorkspace();
    prod = await stageStack(workspace, "prod", "production", {
        shipping: { logBackupInterval: "5s", shipInterval: "1s", applyDelay: "0s" },
        standbys: { "prod-cold": { tier: "cold", keepBaseBackups: 1 } },
    });
    await prod.up({ color: "never" });
    prodUrls = (await stageOutputs(prod)).connectionStrings as Record<string, string>;
    for (const db of ["work", "business"]) {
        await queryUrl(prodUrls[db], "CREATE TABLE marker (n int PRIMARY KEY)");
    }
    // Production's own identity rows: what a restore carries to the DR site.
    await queryUrl(prodUrls.config, `INSERT INTO "Server"."Server" VALUES ('prod-db', 'prod-host:5432'); INSERT INTO "HostServer"."LicenseKey" VALUES ('prod-db', 'LIC-PROD', NULL)`);

    drPort = await freePort();
    dr = await workspace.createStack("dr", {
        "stagewise:stage": "production",
        "stagewise:servers": JSON.stringify({ "prod-db": { port: drPort } }),
        "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: path.join(workspace.dir, "data", "dr") }),
        "stagewise:disasterRecovery": JSON.stringify({ of: PRODUCTION, tier: "cold", shipInterval: "1s" }),
    });
    await dr.setConfig("stagewise:licenseKey", { value: DR_KEY, secret: true });
    warmPort = await freePort();
    warm = await workspace.createStack("drwarm", {
        "stagewise:stage": "production",
        "stagewise:servers": JSON.stringify({ "prod-db": { port: warmPort } }),
        "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: path.join(workspace.dir, "data", "drwarm") }),
        "stagewise:disasterRecovery": JSON.stringify({ of: PRODUCTION, tier: "warm", applyDelay: "0s", shipInterval: "1s" }),
        // Host nodes off until cutover: the unit starts only then.
        "stagewise:engine": JSON.stringify({ units: { "unit-a": {} }, primary: "unit-a" }),
    });
    await warm.setConfig("stagewise:licenseKey", { value: DR_KEY, secret: true });
});

afterAll(async () => {
    // Cut-over DR servers are protected like production's: the shippers are stopped here, the servers by dispose.
    for (const site of ["dr", "drwarm"]) await stopShipper(path.join(workspace.dir, "data", site, "shipper")).catch(() => undefined);
    await stopEngineUnit({ stateDir: path.join(workspace.dir, "data", "drwarm", "engine"), name: "unit-a" }).catch(() => undefined);
    workspace?.dispose();
});

test("production's cold standby: a verified base backup and the archive, no server; a backup older than the interval is replaced on up", async () => {
    const out = await stageOutputs(prod);
    const cold = out.coldStandbys?.["prod-cold"];
    expect(cold).toMatchObject({ tier: "cold", archive: path.join(workspace.dir, "data", "prod", "wal-archive") });
    expect(cold!.baseBackups).toHaveLength(1);
    expect(cold!.baseBackups[0]).toMatchObject({ verified: true });
    expect((await prod.preview({ color: "never" })).changeSummary.update ?? 0).toBe(0); // 24h have not passed
    await prod.setConfig("stagewise:standbys", { value: JSON.stringify({ "prod-cold": { tier: "cold", keepBaseBackups: 1, baseBackupInterval: "1s" } }) });
    await new Promise((r) => setTimeout(r, 1500));
    await prod.up({ color: "never" });
    const next = (await stageOutputs(prod)).coldStandbys!["prod-cold"].baseBackups;
    expect(next).toHaveLength(1); // keepBaseBackups: 1
    expect(next[0].id).not.toBe(cold!.baseBackups[0].id);
    expect(next[0].finishedAt > cold!.baseBackups[0].finishedAt).toBe(true);
});

test("the DR site stands by: a verified base backup, shipped WAL, no server, engine units off", async () => {
    await dr.up({ color: "never" });
    const out = await stageOutputs(dr);
    expect(out).toMatchObject({ stage: "production", site: "dr", servers: {}, cutover: null, locks: {} });
    expect(out.disasterRecovery).toMatchObject({
        of: PRODUCTION,
        tier: "cold",
        state: "standing by",
        engineUnits: "off",
        server: { name: "prod-db", running: false, inRecovery: false, replayedTo: null },
        shipping: { lastError: null },
    });
    expect(out.disasterRecovery!.baseBackups).toHaveLength(1);
    expect(out.disasterRecovery!.baseBackups[0]).toMatchObject({ verified: true });
    expect(out.databases.work).toEqual({ server: "prod-db", name: "work", host: "127.0.0.1", port: drPort });
    await expect(queryUrl((out.connectionStrings as Record<string, string>).work, "SELECT 1")).rejects.toThrow(/ECONNREFUSED/);
});

test("a cutover that cannot reach its target is refused before anything changes", async () => {
    await dr.setConfig("stagewise:cutover", { value: JSON.stringify({ targetTime: "2020-01-01T00:00:00Z" }) });
    const backup = (await stageOutputs(dr)).disasterRecovery!.baseBackups[0];
    await expect(dr.up({ color: "never" })).rejects.toThrow(
        `cutover: cannot recover to time 2020-01-01T00:00:00.000Z: 2020-01-01T00:00:00.000Z is before the oldest base backup (complete at ${backup.finishedAt}); ` +
            `the earliest instant that can be recovered is ${backup.finishedAt}; nothing was changed`,
    );
    await dr.setConfig("stagewise:cutover", { value: JSON.stringify({ disasterTime: "2099-01-01T02:00:00Z", margin: "1h" }) });
    // A future instant is refused with the configuration's problems, before production's stack is read.
    await expect(dr.up({ color: "never" })).rejects.toThrow(
        /- cutover\.disasterTime: "2099-01-01T02:00:00Z" is in the future \(now is \S+\): a cutover recovers to an instant that has passed \(use an earlier time, or latest: true\)/,
    );
    expect((await stageOutputs(dr)).disasterRecovery?.state).toBe("standing by");
});

test("cutover to an instant between markers: both databases stop at exactly that instant; the licence rows are the DR site's own", async () => {
    for (const n of [1, 2, 3, 4]) await writeMarker(n);
    const [, two, three] = markers;
    const target = new Date(two.after.getTime() + (three.before.getTime() - two.after.getTime()) / 2).toISOString();
    await dr.setConfig("stagewise:cutover", { value: JSON.stringify({ targetTime: target }) });
    const result = await dr.up({ color: "never" });
    expect(result.stdout).toMatch(/cutover of prod-db: tail of the log: the old primary switched to a new WAL segment and archived [0-9A-F]{24}/);

    const out = await stageOutputs(dr);
    expect(out.cutover).toMatchObject({ target: `time ${target}`, tailOfLog: { method: "archived" }, method: "from base backup", licenceRowsReapplied: 2 });
    const recoveredTo = new Date(out.cutover!.recoveredTo!).getTime();
    expect(recoveredTo).toBeGreaterThanOrEqual(two.before.getTime());
    expect(recoveredTo).toBeLessThanOrEqual(new Date(target).getTime());
    expect(out.disasterRecovery).toMatchObject({ state: "cut over", server: { running: true, inRecovery: false } });
    expect(out.servers["prod-db"]).toMatchObject({ port: drPort, endpoint: `127.0.0.1:${drPort}`, running: true });

    const urls = out.connectionStrings as Record<string, string>;
    for (const db of ["work", "business"]) {
        expect(await queryUrl(urls[db], "SELECT n FROM marker ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }]);
    }
    expect(await queryUrl(urls.config, `SELECT "ServerName", "HostName", "Role" FROM "Server"."Server"`)).toEqual([
        { ServerName: "prod-db", HostName: `127.0.0.1:${drPort}`, Role: "primary" },
    ]);
    expect(await queryUrl(urls.config, `SELECT "ServerName", "LicenseKey", "ValidUntil" FROM "HostServer"."LicenseKey"`)).toEqual([
        { ServerName: "prod-db", LicenseKey: DR_KEY, ValidUntil: null },
    ]);
    // Production is untouched and keeps its own rows.
    expect(await queryUrl(prodUrls.config, `SELECT "LicenseKey" FROM "HostServer"."LicenseKey"`)).toEqual([{ LicenseKey: "LIC-PROD" }]);
    expect(await queryUrl(prodUrls.work, "SELECT count(*)::int AS n FROM marker")).toEqual([{ n: 4 }]);

    const grep = childProcess.spawnSync("grep", ["-rlF", DR_KEY, path.join(workspace.dir, "state")], { encoding: "utf8" });
    expect(grep.stdout).toBe("");
});

test("after cutover an up changes nothing, and another target is refused", async () => {
    const preview = await dr.preview({ color: "never" });
    expect(preview.changeSummary.update ?? 0).toBe(0);
    await dr.setConfig("stagewise:cutover", { value: JSON.stringify({ latest: true }) });
    await expect(dr.up({ color: "never" })).rejects.toThrow(/this DR site was already cut over \(to time .*, promoted at .*\); it is production now and is not recovered again/);
    await dr.setConfig("stagewise:cutover", { value: JSON.stringify({ targetTime: (await stageOutputs(dr)).cutover!.target.replace("time ", "") }) });
    await expect(dr.destroy({ color: "never" })).rejects.toThrow(/protected/); // it holds production's data now
});

test("a warm DR site stands by in recovery, then cuts over to a named restore point: exactly the markers before it", async () => {
    // Brought up after markers 1-4: its base backup holds them; the restore point comes later.
    await warm.up({ color: "never" });
    const before = await stageOutputs(warm);
    expect(before.disasterRecovery).toMatchObject({ tier: "warm", state: "standing by", engineUnits: "off", server: { name: "prod-db", running: true, inRecovery: true } });
    expect(before.servers).toEqual({});
    expect(before.engine).toBeUndefined();

    const source = (await stageOutputs(prod)).copySource as { host: string; port: number; superuserPassword: string };
    await writeMarker(5);
    await createRestorePoint(source, "before-6");
    await writeMarker(6);
    await warm.setConfig("stagewise:cutover", { value: JSON.stringify({ targetName: "before-6" }) });
    await warm.up({ color: "never" });

    const out = await stageOutputs(warm);
    // A restore point's place in the WAL is unknown until recovery reaches it: never in place.
    expect(out.cutover).toMatchObject({ target: 'restore point "before-6"', tailOfLog: { method: "archived" }, method: "from base backup", licenceRowsReapplied: 2 });
    const urls = out.connectionStrings as Record<string, string>;
    for (const db of ["work", "business"]) {
        expect(await queryUrl(urls[db], "SELECT n FROM marker ORDER BY n")).toEqual([1, 2, 3, 4, 5].map((n) => ({ n })));
    }
    expect(await queryUrl(urls.config, `SELECT "ServerName", "HostName", "LicenseKey" FROM "Server"."Server" JOIN "HostServer"."LicenseKey" USING ("ServerName")`)).toEqual([
        { ServerName: "prod-db", HostName: `127.0.0.1:${warmPort}`, LicenseKey: DR_KEY },
    ]);
    expect(await queryUrl(urls.config, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    // The host nodes came on: the engine's unit acts on the recovered databases.
    expect(out.disasterRecovery!.engineUnits).toBe("on");
    expect(out.engine).toMatchObject({ declaredPrimary: "unit-a", actingPrimary: "unit-a", units: { "unit-a": { running: true } } });
});
