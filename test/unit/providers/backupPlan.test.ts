// The BackupPlan and Restore providers' check and diff. Their folder holds one verified set taken
// just now, so no backup is due and a named backup exists.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { backupPlan, restoreDefinition } from "../../../components/backup/backupPlan";
import { providerTable } from "./providerTables";

const setsDir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-sets-"));
fs.mkdirSync(path.join(setsDir, "set-1"));
const now = new Date().toISOString();
fs.writeFileSync(
    path.join(setsDir, "set-1", "stagewise-backup-set.json"),
    JSON.stringify({ id: "set-1", mode: "online", safety: false, takenAt: now, finishedAt: now, bytes: 1, verified: true, servers: {}, configFiles: [] }),
);
afterAll(() => fs.rmSync(setsDir, { recursive: true, force: true }));

describe("BackupPlan", () => {
    providerTable(backupPlan, {
        inputs: { setsDir, mode: "online" as never, intervalMs: 3_600_000, keep: 3, servers: [], configFiles: [], units: [], ownerRole: "engine", afterRestore: "", providerVersion: "1" },
        outputs: { backups: [] },
        replacing: [["another folder", { setsDir: "/nonexistent/stagewise-unit/sets" }, ["setsDir"]]],
        inPlace: [
            ["another interval", { intervalMs: 7_200_000 }, ["intervalMs"]],
            ["another number kept", { keep: 5 }, ["keep"]],
            ["another config file", { configFiles: ["/etc/engine.conf"] }, ["configFiles"]],
            ["after a restore", { afterRestore: "safety-1" }, ["afterRestore"]],
        ],
        placeholders: ["servers", "afterRestore"],
    });

    test("diff: a newest set older than the interval is due, an update", async () => {
        const inputs = { setsDir, mode: "online" as never, intervalMs: 0, keep: 3, servers: [], configFiles: [], units: [], ownerRole: "engine", afterRestore: "", providerVersion: "1" };
        expect(await backupPlan.provider.diff!("id", { ...inputs, backups: [] }, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    });
});

describe("Restore", () => {
    providerTable(restoreDefinition, {
        inputs: { backup: "set-1", setsDir, servers: [], configFiles: [], units: [], ownerRole: "engine", workUrl: "postgresql://engine:pw@127.0.0.1:1/work", providerVersion: "1" },
        outputs: { report: {} as never },
        bad: [["a backup that does not exist", { backup: "set-9" }, [{ property: "backup", reason: "backup set-9 does not exist (backups: set-1)" }]]],
        replacing: [],
        inPlace: [["another backup", { backup: "set-2" }, ["backup"]]],
        placeholders: ["backup", "workUrl"],
    });

    test("check names no backups in an empty folder", async () => {
        const inputs = { backup: "set-1", setsDir: "/nonexistent/stagewise-unit/sets", servers: [], configFiles: [], units: [], ownerRole: "engine", workUrl: "w", providerVersion: "1" };
        expect((await restoreDefinition.provider.check!({} as never, inputs)).failures).toEqual([{ property: "backup", reason: "backup set-1 does not exist (backups: none)" }]);
    });
});
