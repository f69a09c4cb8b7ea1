// Consistent backups of a stage's engine databases and configuration files, and their restore: the
// fourth source runbook. Plain Node (no Pulumi), plain functions.
//
// - Offline: the engine units are stopped, no session of the engine's role runs a command any more,
//   every server holding an engine database is backed up (pg_basebackup, verified), the configuration
//   files are copied, and the units are started again — whatever happened.
// - Online: only when every engine database lives on one server: its base backup with the WAL it
//   needs is one consistent instant across them, taken while the engine runs.
// - A backup set lands as `<setsDir>/<id>.incoming` and is renamed into place when complete.
// - Restore: refused while the engine still runs outside stagewise's units; otherwise the units stop,
//   a safety backup of the current state is taken, each server's data directory is swapped for the
//   backup's (the previous one kept aside, under a journal), configuration files are put back, an
//   online backup's process instances are cleaned up, and the units start. An interrupted restore is
//   rolled back by `recoverInterruptedRestore`: the kept-aside data directories return.
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { startEngineUnit, stopEngineUnit, EngineUnitSpec } from "../engine/unitProcesses";
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { withClient } from "../postgres/pg";
import { waitUntil } from "../postgres/poll";
import { backupDataDir, takeBaseBackup } from "./pitrBackups";

export type BackupMode = "offline" | "online";

export interface StageServerRef {
    name: string;
    loc: ClusterLocation;
    superuserPassword: string;
    /** The engine databases it holds. */
    databases: string[];
}

export interface BackupSetRequest {
    setsDir: string;
    /** The machine the sets folder is on (the stage's servers' host). @default this machine */
    setsMachine?: RemoteMachine;
    mode: BackupMode;
    servers: StageServerRef[];
    /** Files copied into the set and put back on restore (absolute paths). */
    configFiles: string[];
    /** The engine's units: stopped for an offline backup. */
    units: EngineUnitSpec[];
    /** The engine's role: none of its sessions may run a command during an offline backup. */
    ownerRole: string;
    /** Marks the safety backup a restore takes first. */
    safety?: boolean;
    onProgress?: (line: string) => void;
}

export interface BackupSet {
    id: string;
    mode: BackupMode;
    safety: boolean;
    takenAt: string;
    finishedAt: string;
    bytes: number;
    /** pg_verifybackup accepted every server's backup. */
    verified: boolean;
    /** Server name → its base backup's folder inside the set. */
    servers: Record<string, string>;
    configFiles: string[];
}

const SET_MANIFEST = "stagewise-backup-set.json";
const INCOMING = ".incoming";
export const RESTORE_JOURNAL = "restore-journal.json";

const idOf = (time: Date) => time.toISOString().replace(/[-:.]/g, "");
const configCopyName = (file: string) => file.replace(/^\/+/, "").replace(/\//g, "__");

/** Sessions of `role` on the servers' engine databases: an engine still connected is an engine still running. */
export async function busyEngineSessions(servers: StageServerRef[], role: string): Promise<string[]> {
    const busy: string[] = [];
    for (const s of servers) {
        await withClient({ host: s.loc.host, port: s.loc.port, user: cluster.SUPERUSER, password: s.superuserPassword, database: "postgres" }, async (c) => {
            const { rows } = await c.query(
                `SELECT pid, datname, state, application_name FROM pg_stat_activity
                  WHERE usename = $1 AND datname = ANY($2) AND pid <> pg_backend_pid()`,
                [role, s.databases],
            );
            busy.push(...rows.map((r) => `pid ${r.pid} on ${s.name}/${r.datname} (${r.application_name || "no name"}, ${r.state})`));
        });
    }
    return busy;
}

async function waitUntilQuiet(req: BackupSetRequest, timeoutMs: number): Promise<void> {
    let busy: string[] = [];
    await waitUntil(async () => (busy = await busyEngineSessions(req.servers, req.ownerRole)).length === 0, {
        timeoutMs,
        intervalMs: 200,
        failure: () => `the engine still has sessions after its units stopped: ${busy.join("; ")} (stop the engine's other processes first)`,
    });
}

/** Takes one backup set; offline backups restart the engine units whatever happens. */
export async function takeBackupSet(req: BackupSetRequest): Promise<BackupSet> {
    const progress = req.onProgress ?? (() => undefined);
    if (req.mode === "online" && new Set(req.servers.filter((s) => s.databases.length > 0).map((s) => s.name)).size > 1) {
        throw new Error(`an online backup needs every engine database on one server; they live on ${req.servers.map((s) => s.name).join(" and ")} (use mode offline)`);
    }
    const takenAt = new Date();
    const id = idOf(takenAt);
    const incoming = path.join(req.setsDir, id + INCOMING);
    const host = setsHost(req.setsMachine);
    host.makeFolder(incoming, { mode: 0o755, owned: false });
    const stopped = req.mode === "offline" ? req.units : [];
    try {
        for (const unit of stopped) {
            progress(`stopping engine unit ${unit.name}`);
            await stopEngineUnit(unit);
        }
        if (req.mode === "offline") {
            await waitUntilQuiet(req, 30_000);
        }
        const servers: Record<string, string> = {};
        for (const s of req.servers) {
            progress(`backing up server ${s.name}`);
            const dir = path.join(incoming, "servers", s.name);
            const backup = await takeBaseBackup({ ...s.loc, serverDir: dir }, { host: s.loc.host, port: s.loc.port, superuserPassword: s.superuserPassword }, progress);
            servers[s.name] = path.relative(incoming, backupDataDir(dir, backup.id));
        }
        host.makeFolder(path.join(incoming, "config"), { mode: 0o777, owned: false });
        for (const file of req.configFiles) {
            // The project's files are the deployer's; the set may be on another machine.
            host.writeFile(path.join(incoming, "config", configCopyName(file)), fs.readFileSync(file), { mode: fs.statSync(file).mode & 0o777, owned: false });
        }
        const set: BackupSet = {
            id,
            mode: req.mode,
            safety: req.safety ?? false,
            takenAt: takenAt.toISOString(),
            finishedAt: new Date().toISOString(),
            bytes: host.folderBytes(incoming),
            verified: true, // takeBaseBackup fails unless pg_verifybackup accepts the backup
            servers,
            configFiles: req.configFiles,
        };
        host.writeFile(path.join(incoming, SET_MANIFEST), JSON.stringify(set, null, 2) + "\n", { mode: 0o644, owned: false });
        host.rename(incoming, path.join(req.setsDir, id));
        progress(`backup ${id} (${req.mode}) complete: ${set.bytes} bytes, verified`);
        return set;
    } catch (err) {
        host.remove(incoming);
        throw err;
    } finally {
        for (const unit of stopped) {
            await startEngineUnit(unit).catch((e) => progress(`could not start engine unit ${unit.name} again: ${(e as Error).message}`));
        }
    }
}

/** The complete backup sets, oldest first. */
export function listBackupSets(setsDir: string, setsMachine?: RemoteMachine): BackupSet[] {
    const host = setsHost(setsMachine);
    return host
        .list(setsDir)
        .filter((name) => !name.endsWith(INCOMING) && host.exists(path.join(setsDir, name, SET_MANIFEST)))
        .map((name) => JSON.parse(host.readText(path.join(setsDir, name, SET_MANIFEST))) as BackupSet)
        .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** Keeps the newest `keep` scheduled sets (safety backups are kept alongside, the newest `keep` of them too). */
export function pruneBackupSets(setsDir: string, keep: number, setsMachine?: RemoteMachine): string[] {
    const removed: string[] = [];
    for (const safety of [false, true]) {
        const sets = listBackupSets(setsDir, setsMachine).filter((s) => s.safety === safety);
        for (const set of sets.slice(0, Math.max(0, sets.length - keep))) {
            setsHost(setsMachine).remove(path.join(setsDir, set.id));
            removed.push(set.id);
        }
    }
    return removed;
}

export interface RestoreRequest extends Omit<BackupSetRequest, "mode" | "safety"> {
    /** The backup set to restore. */
    id: string;
}

export interface RestoreReport {
    backup: string;
    safetyBackup: string;
    restoredAt: string;
    /** Online backups: process instances normalized before the engine starts. */
    cleanup: { terminated: number; restarted: number } | null;
}

interface RestoreJournal {
    backup: string;
    safetyBackup: string;
    /** Servers whose previous data directory now sits at `pgdata.before-restore`. */
    swapped: string[];
}

/** The host of the sets folder, where only files are touched (no program runs). */
const setsHost = (machine: RemoteMachine | undefined) => hostOf({ binDir: "", machine });

const asideOf = (loc: ClusterLocation) => path.join(loc.serverDir, "pgdata.before-restore");

/** Where writing `file` really lands: through every symbolic link on its way (its folder's, when the file is missing). */
function realLocation(file: string): string {
    try {
        return fs.realpathSync(file);
    } catch {
        try {
            return path.join(fs.realpathSync(path.dirname(file)), path.basename(file));
        } catch {
            return path.resolve(file);
        }
    }
}

/** Puts back the data directories an interrupted restore had set aside; returns the servers put back. */
export function recoverInterruptedRestore(setsDir: string, servers: StageServerRef[], progress: (line: string) => void = () => undefined, setsMachine?: RemoteMachine): string[] {
    const file = path.join(setsDir, RESTORE_JOURNAL);
    const sets = setsHost(setsMachine);
    if (!sets.exists(file)) {
        return [];
    }
    const journal = JSON.parse(sets.readText(file)) as RestoreJournal;
    const putBack: string[] = [];
    for (const s of servers.filter((srv) => journal.swapped.includes(srv.name))) {
        const host = cluster.hostOfServer(s.loc);
        if (!host.exists(asideOf(s.loc))) {
            continue; // the swap never happened for it
        }
        try {
            cluster.stopCluster(s.loc);
        } catch {
            // not running
        }
        host.remove(cluster.dataDirOf(s.loc));
        host.rename(asideOf(s.loc), cluster.dataDirOf(s.loc));
        cluster.startCluster(s.loc);
        putBack.push(s.name);
        progress(`restore of ${journal.backup} was interrupted: server ${s.name} has its previous data back (safety backup ${journal.safetyBackup} kept)`);
    }
    sets.remove(file);
    return putBack;
}

function writeRestoreJournal(req: RestoreRequest, journal: RestoreJournal): void {
    const file = path.join(req.setsDir, RESTORE_JOURNAL);
    setsHost(req.setsMachine).writeFile(file, JSON.stringify(journal) + "\n", { mode: 0o644, owned: false });
}

/** Normalizes process instances left running by an online backup, the way a unit taking over would. */
async function cleanUpInstances(workUrl: string): Promise<{ terminated: number; restarted: number }> {
    return withClient(workUrl, async (c) => {
        await c.query("BEGIN");
        const terminated = await c.query(
            `UPDATE "Work"."ProcessInstance" pi SET "State" = 'terminated', "UpdatedAt" = now() FROM "Work"."ProcessDefinition" pd
              WHERE pd."Name" = pi."Process" AND pi."State" = 'running' AND pd."RecoveryLevel" = 'none'`,
        );
        const restarted = await c.query(
            `UPDATE "Work"."ProcessInstance" pi SET "Step" = 0, "UpdatedAt" = now(),
                    "Data" = jsonb_set(pi."Data", '{restarts}', to_jsonb(COALESCE((pi."Data"->>'restarts')::int, 0) + 1))
               FROM "Work"."ProcessDefinition" pd
              WHERE pd."Name" = pi."Process" AND pi."State" = 'running' AND pd."RecoveryLevel" = 'process'`,
        );
        await c.query(`UPDATE "Work"."EngineUnit" SET "Acting" = false, "ActingSince" = NULL`).catch(() => undefined); // no such table without units
        await c.query("COMMIT");
        return { terminated: terminated.rowCount ?? 0, restarted: restarted.rowCount ?? 0 };
    });
}

/**
 * Restores backup set `id`. `hooks.afterSwap` lets tests interrupt it mid-way. The engine's units are
 * started again at the end (or after a failure, on whatever data is then in place).
 */
export async function restoreBackupSet(req: RestoreRequest & { workUrl?: string }, hooks: { afterSwap?: (server: string) => void } = {}): Promise<RestoreReport> {
    const progress = req.onProgress ?? (() => undefined);
    recoverInterruptedRestore(req.setsDir, req.servers, progress, req.setsMachine);
    const set = listBackupSets(req.setsDir, req.setsMachine).find((s) => s.id === req.id);
    if (!set) {
        const known = listBackupSets(req.setsDir, req.setsMachine).map((s) => s.id);
        throw new Error(`backup ${req.id} does not exist (backups: ${known.join(", ") || "none"})`);
    }
    for (const s of req.servers) {
        if (!set.servers[s.name]) {
            throw new Error(`backup ${req.id} holds no copy of server ${s.name} (it has ${Object.keys(set.servers).join(", ")})`);
        }
    }
    // Defence in depth (a set recorded by an older version): a file is written back only where one of
    // the stage's backups.configFiles really is, as the program checked them (inside the project).
    const allowed = new Set(req.configFiles.map(realLocation));
    for (const file of set.configFiles) {
        if (!allowed.has(realLocation(file))) {
            throw new Error(
                `backup ${req.id} would write ${file} back, which is not one of this stage's backups.configFiles (files inside the project); ` +
                    "refusing to restore it (list the file in backups.configFiles, or restore another backup)",
            );
        }
    }
    for (const unit of req.units) {
        progress(`stopping engine unit ${unit.name}`);
        await stopEngineUnit(unit);
    }
    try {
        // Never restore under a running engine: anything still connected as the engine's role is one.
        const busy = await busyEngineSessions(req.servers, req.ownerRole);
        if (busy.length > 0) {
            throw new Error(`refusing to restore into a running engine: ${busy.join("; ")} — stop the engine first (the runbook: never restore while running)`);
        }
        progress("taking a safety backup of the current state");
        const safety = await takeBackupSet({ ...req, mode: "offline", safety: true, units: [] });
        const journal: RestoreJournal = { backup: set.id, safetyBackup: safety.id, swapped: [] };
        writeRestoreJournal(req, journal);
        for (const s of req.servers) {
            progress(`restoring server ${s.name} from ${set.id}`);
            cluster.stopCluster(s.loc);
            const host = cluster.hostOfServer(s.loc);
            host.rename(cluster.dataDirOf(s.loc), asideOf(s.loc));
            journal.swapped.push(s.name);
            writeRestoreJournal(req, journal);
            hooks.afterSwap?.(s.name);
            host.copyTree(path.join(req.setsDir, set.id, set.servers[s.name]), cluster.dataDirOf(s.loc));
            host.remove(path.join(cluster.dataDirOf(s.loc), "backup_manifest"));
            cluster.startCluster(s.loc);
        }
        for (const file of set.configFiles) {
            fs.writeFileSync(file, setsHost(req.setsMachine).readBytes(path.join(req.setsDir, set.id, "config", configCopyName(file))));
        }
        const cleanup = set.mode === "online" && req.workUrl ? await cleanUpInstances(req.workUrl) : null;
        for (const s of req.servers) {
            cluster.hostOfServer(s.loc).remove(asideOf(s.loc));
        }
        setsHost(req.setsMachine).remove(path.join(req.setsDir, RESTORE_JOURNAL));
        progress(`restored ${set.id}${cleanup ? `; cleanup: ${cleanup.terminated} terminated, ${cleanup.restarted} restarted` : ""}`);
        return { backup: set.id, safetyBackup: safety.id, restoredAt: new Date().toISOString(), cleanup };
    } catch (err) {
        // Data either as it was or complete: a failed restore puts the previous data directories back.
        recoverInterruptedRestore(req.setsDir, req.servers, progress, req.setsMachine);
        throw err;
    } finally {
        for (const unit of req.units) {
            await startEngineUnit(unit).catch((e) => progress(`could not start engine unit ${unit.name}: ${(e as Error).message}`));
        }
    }
}
