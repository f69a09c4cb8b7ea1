// Backup sets and restore against a real server and the reference engine's units: offline and online
// backups, restore checked row by row, the online cleanup, refusals, and a restore killed mid-way.
import * as fs from "fs";
import * as path from "path";
import { listBackupSets, recoverInterruptedRestore, restoreBackupSet, takeBackupSet, BackupSetRequest, StageServerRef } from "../../components/backup/backupSets";
import { setPrimary, startEngineUnit, stopEngineUnit, EngineUnitSpec } from "../../components/engine/unitProcesses";
import { withClient } from "../../components/postgres/pg";
import { defineProcesses, REFERENCE_ENGINE_COMMAND, workDatabase, WorkDatabase } from "../harness/engineUnits";
import { removeCluster, tempDir } from "../harness/postgres";
import { restoreHeldAfterSwap } from "../harness/restoreInChild";

jest.setTimeout(300_000);

let root: string;
let db: WorkDatabase;
let unit: EngineUnitSpec;
let request: BackupSetRequest;
let server: StageServerRef;
let configFile: string;

const rows = (sql: string) => withClient(db.url, async (c) => (await c.query(sql)).rows);
const markers = () => rows(`SELECT "Id"::int AS id, "Process" AS process, "State" AS state, "Step" AS step FROM "Work"."ProcessInstance" ORDER BY "Id"`);

beforeAll(async () => {
    root = tempDir("stagewise-backup-");
    db = await workDatabase(root);
    await defineProcesses(db.url, 40);
    unit = { name: "unit-a", command: REFERENCE_ENGINE_COMMAND, workUrl: db.url, stateDir: path.join(root, "engine"), stepMs: 100, takeoverMs: 1000 };
    await startEngineUnit(unit);
    await setPrimary(db.url, "unit-a");
    configFile = path.join(root, "engine.json");
    fs.writeFileSync(configFile, '{"version": 1}\n');
    server = { name: "db", loc: db.loc, superuserPassword: "superuser-pw", databases: ["work"] };
    request = { setsDir: path.join(root, "backups"), mode: "offline", servers: [server], configFiles: [configFile], units: [unit], ownerRole: "engine" };
});

afterAll(async () => {
    await stopEngineUnit(unit).catch(() => undefined);
    removeCluster(db.loc);
    fs.rmSync(root, { recursive: true, force: true });
});

test("offline backup → changes → restore: rows and configuration files equal the backup instant", async () => {
    await rows(`INSERT INTO "Work"."ProcessInstance" ("Process", "State", "Step") VALUES ('full', 'completed', 40), ('process', 'completed', 40)`);
    const backup = await takeBackupSet(request);
    expect(backup).toMatchObject({ mode: "offline", safety: false, verified: true, servers: { db: expect.stringMatching(/^servers\/db\/\d{8}T\d{9}Z\/pgdata$/) } });
    const atBackup = await markers();

    await rows(`INSERT INTO "Work"."ProcessInstance" ("Process", "State", "Step") VALUES ('none', 'completed', 40)`);
    await rows(`DELETE FROM "Work"."ProcessInstance" WHERE "Process" = 'full'`);
    fs.writeFileSync(configFile, '{"version": 2}\n');

    const report = await restoreBackupSet({ ...request, id: backup.id });
    expect(report).toMatchObject({ backup: backup.id, cleanup: null });
    expect(await markers()).toEqual(atBackup);
    expect(fs.readFileSync(configFile, "utf8")).toBe('{"version": 1}\n');
    // The safety backup holds the state just before the restore.
    const safety = listBackupSets(request.setsDir).find((s) => s.id === report.safetyBackup)!;
    expect(safety).toMatchObject({ safety: true, mode: "offline", verified: true });
});

test("online backup with instances running → restore runs the cleanup: none terminated, process restarted, full resumed", async () => {
    await rows(`DELETE FROM "Work"."ProcessInstance"`);
    await rows(`INSERT INTO "Work"."ProcessInstance" ("Process") VALUES ('full'), ('process'), ('none')`);
    await rows(`CREATE TABLE "Work"."Ledger" (id int PRIMARY KEY, amount numeric); INSERT INTO "Work"."Ledger" VALUES (1, 10.5), (2, 20), (3, -4)`);
    const backup = await takeBackupSet({ ...request, mode: "online" });
    await rows(`INSERT INTO "Work"."Ledger" VALUES (4, 99); UPDATE "Work"."Ledger" SET amount = 0 WHERE id = 1`);
    // Restored with the unit stopped by hand, so what is seen is the cleanup's work alone (a unit taking
    // over afterwards applies the same rules once more).
    await stopEngineUnit(unit);
    const report = await restoreBackupSet({ ...request, units: [], id: backup.id, workUrl: db.url });
    expect(report.cleanup).toEqual({ terminated: 1, restarted: 1 });
    // Rows the engine does not touch are exactly those of the backup instant.
    expect(await rows(`SELECT id, amount::text FROM "Work"."Ledger" ORDER BY id`)).toEqual([
        { id: 1, amount: "10.5" },
        { id: 2, amount: "20" },
        { id: 3, amount: "-4" },
    ]);
    const after = await rows(`SELECT "Process" AS process, "State" AS state, "Data"->>'restarts' AS restarts FROM "Work"."ProcessInstance" ORDER BY "Id"`);
    expect(after.map((r) => [r.process, r.state === "terminated" ? "terminated" : "not terminated", r.restarts])).toEqual([
        ["full", "not terminated", null],
        ["process", "not terminated", "1"],
        ["none", "terminated", null],
    ]);
    await startEngineUnit(unit);
});

test("offline across two servers: both backed up with the engine stopped, both restored to that instant", async () => {
    fs.mkdirSync(path.join(root, "second"), { mode: 0o755 });
    const second = await workDatabase(path.join(root, "second"));
    try {
        const other: StageServerRef = { name: "db2", loc: second.loc, superuserPassword: "superuser-pw", databases: ["work"] };
        const both = { ...request, servers: [server, other] };
        await withClient(second.url, (c) => c.query(`CREATE TABLE "Work"."Ledger2" (id int PRIMARY KEY); INSERT INTO "Work"."Ledger2" VALUES (1), (2)`));
        await rows(`UPDATE "Work"."ProcessInstance" SET "State" = 'completed' WHERE "State" = 'running'`);
        const before = await markers();
        const backup = await takeBackupSet(both);
        expect(Object.keys(backup.servers)).toEqual(["db", "db2"]);
        await withClient(second.url, (c) => c.query(`DELETE FROM "Work"."Ledger2"`));
        await rows(`DELETE FROM "Work"."ProcessInstance"`);
        await restoreBackupSet({ ...both, id: backup.id });
        expect(await markers()).toEqual(before);
        expect(await withClient(second.url, async (c) => (await c.query(`SELECT id FROM "Work"."Ledger2" ORDER BY id`)).rows)).toEqual([{ id: 1 }, { id: 2 }]);
    } finally {
        removeCluster(second.loc);
    }
});

test("an online backup across two servers is refused with the reason", async () => {
    const other: StageServerRef = { ...server, name: "db2", databases: ["business"] };
    await expect(takeBackupSet({ ...request, mode: "online", servers: [server, other] })).rejects.toThrow(
        "an online backup needs every engine database on one server; they live on db and db2 (use mode offline)",
    );
});

test("restore into a running engine (a session stagewise does not manage) is refused, changing nothing", async () => {
    const backup = listBackupSets(request.setsDir).filter((s) => !s.safety)[0];
    await rows(`UPDATE "Work"."ProcessInstance" SET "State" = 'completed' WHERE "State" = 'running'`); // nothing left for the engine to change
    const before = await markers();
    const setsBefore = listBackupSets(request.setsDir).length;
    const { Client } = await import("pg");
    const foreign = new Client({ connectionString: db.url, application_name: "someone-elses-engine" });
    await foreign.connect();
    try {
        await expect(restoreBackupSet({ ...request, id: backup.id })).rejects.toThrow(/^refusing to restore into a running engine: pid \d+ on db\/work \(someone-elses-engine, idle\)/);
    } finally {
        await foreign.end();
    }
    expect(await markers()).toEqual(before);
    expect(listBackupSets(request.setsDir).length).toBe(setsBefore); // not even a safety backup was taken
});

test("a restore killed mid-way (kill -9 after the swap) is rolled back: the previous data returns intact", async () => {
    await rows(`DELETE FROM "Work"."ProcessInstance"`);
    const backup = await takeBackupSet(request);
    await rows(`INSERT INTO "Work"."ProcessInstance" ("Process", "State", "Step") VALUES ('full', 'completed', 40)`);
    const before = await markers();

    const driver = await restoreHeldAfterSwap({ ...request, id: backup.id }, "db");
    driver.kill("SIGKILL");
    expect(fs.existsSync(path.join(db.loc.serverDir, "pgdata.before-restore"))).toBe(true);

    expect(recoverInterruptedRestore(request.setsDir, [server])).toEqual(["db"]);
    expect(await markers()).toEqual(before);
    await startEngineUnit(unit); // the killed restore had stopped it
});
