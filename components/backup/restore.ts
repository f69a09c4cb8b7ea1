// Point-in-time recovery on this machine: the newest base backup taken before the target is copied
// into a new data directory, which starts with recovery.signal, a restore_command reading the WAL
// folders, and the target (recovery_target_time | recovery_target_name | none for "latest") with
// recovery_target_action=promote; we wait until it has promoted and read back the instant it
// recovered to. One cluster is one instant for every database in it. Also the warm server: the same
// restore with standby.signal, applying WAL older than a delay, until cutover.
// Plain Node (no Pulumi), plain functions.
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { withClient } from "../postgres/pg";
import { waitUntil } from "../postgres/poll";
import { backupDataDir, BaseBackup, chooseBaseBackup, listBaseBackups } from "./pitrBackups";

/** One instant for the whole cluster. */
export type RecoveryTarget = { time: string } | { name: string } | { latest: true };

export function describeTarget(target: RecoveryTarget): string {
    return "time" in target ? `time ${target.time}` : "name" in target ? `restore point "${target.name}"` : "the latest archived WAL";
}

/** A folder that goes into a shell command unquoted. */
function safeFolder(folder: string): string {
    if (/['"\s%;&|$`\\]/.test(folder)) {
        throw new Error(`WAL folder ${JSON.stringify(folder)} must not contain quotes, spaces, % or shell characters`);
    }
    return folder;
}

/** restore_command reading the first of `folders` that has the file (archive before tail). */
export function restoreCommandFor(folders: string[]): string {
    return folders.map((f) => `(test -f ${safeFolder(f)}/%f && cp ${f}/%f %p)`).join(" || ");
}

/** An instant as recovery_target_time reads it ("2026-11-22 13:35:00.000+00"; it refuses ISO's "T…Z"). */
export function postgresTimestamp(instant: string): string {
    return new Date(instant).toISOString().replace("T", " ").replace("Z", "+00");
}

/** The recovery settings for `target` (recovery_target_inclusive stays at its default, true: the target commit is included). */
export function recoverySettings(target: RecoveryTarget, walFolders: string[]): Record<string, string> {
    const settings: Record<string, string> = {
        restore_command: restoreCommandFor(walFolders),
        recovery_target_action: "promote",
        recovery_target_timeline: "latest",
    };
    if ("time" in target) {
        settings.recovery_target_time = postgresTimestamp(target.time);
    } else if ("name" in target) {
        settings.recovery_target_name = target.name;
    }
    return settings;
}

export interface RestoreRequest {
    backupsDir: string;
    /** Folders holding archived WAL, searched in order. */
    walFolders: string[];
    target: RecoveryTarget;
    /** The new server: its data directory must not exist yet. */
    loc: ClusterLocation;
    /** The restored cluster's superuser password (the backed-up server's). */
    superuserPassword: string;
    /** Further settings of the restored server. @default {} */
    settings?: Record<string, string>;
    now?: Date;
    /** How long recovery may take. @default 30 min */
    timeoutMs?: number;
    onProgress?: (line: string) => void;
}

export interface RestoreResult {
    backup: BaseBackup;
    /** The commit time of the last transaction recovery applied (null when it applied none). */
    recoveredTo: string | null;
    promotedAt: string;
}

/** Why `target` cannot be reached from these backups, or the backup to start from. Changes nothing. */
export function planRestore(backups: BaseBackup[], target: RecoveryTarget, now: Date): { ok: true; backup: BaseBackup } | { ok: false; reason: string } {
    if ("time" in target) {
        const at = new Date(target.time);
        if (Number.isNaN(at.getTime())) {
            return { ok: false, reason: `${JSON.stringify(target.time)} is not an instant (use ISO 8601, e.g. "2026-11-22T13:35:00Z")` };
        }
        if (at.getTime() > now.getTime()) {
            return { ok: false, reason: `${target.time} is in the future (now is ${now.toISOString()}): no WAL can reach it yet` };
        }
        return chooseBaseBackup(backups, at);
    }
    // A restore point lies after the newest backup or not; recovery from the newest one finds it if it does,
    // so the oldest backup is the safe start for a name.
    return chooseBaseBackup(backups, "name" in target ? new Date(backups[0]?.finishedAt ?? 0) : "latest");
}

/** Restores to one instant and promotes. On failure the new data directory is removed and the reason given. */
export async function restoreToInstant(req: RestoreRequest): Promise<RestoreResult> {
    const plan = planRestore(listBaseBackups(req.backupsDir, req.loc.machine), req.target, req.now ?? new Date());
    if (!plan.ok) {
        throw new Error(`cannot recover to ${describeTarget(req.target)}: ${plan.reason}`);
    }
    const progress = req.onProgress ?? (() => undefined);
    const dataDir = cluster.dataDirOf(req.loc);
    if (cluster.hostOfServer(req.loc).exists(dataDir)) {
        throw new Error(`${dataDir} already exists: a restore goes into a new data directory`);
    }
    progress(`restoring base backup ${plan.backup.id} (complete at ${plan.backup.finishedAt}), then WAL up to ${describeTarget(req.target)}`);
    try {
        copyBackup(req.loc, req.backupsDir, plan.backup.id);
        cluster.writeCopySettings(req.loc, { ...req.settings, archive_mode: "off", hot_standby: "on", ...recoverySettings(req.target, req.walFolders) });
        writeSignal(req.loc, "recovery.signal");
        cluster.startCluster(req.loc);
        const promotedAt = await waitUntilPromoted(req.loc, req.superuserPassword, req.timeoutMs ?? 30 * 60_000);
        const recoveredTo = await withClient(superuser(req.loc, req.superuserPassword), async (c) => {
            const { rows } = await c.query("SELECT pg_last_xact_replay_timestamp() AS at");
            return rows[0].at ? (rows[0].at as Date).toISOString() : null;
        });
        progress(`recovered to ${recoveredTo ?? "the base backup"} and promoted at ${promotedAt}`);
        return { backup: plan.backup, recoveredTo, promotedAt };
    } catch (err) {
        try {
            cluster.stopCluster(req.loc);
        } catch {
            // it stopped by itself
        }
        cluster.hostOfServer(req.loc).remove(dataDir);
        throw new Error(`recovery to ${describeTarget(req.target)} failed, nothing was kept: ${(err as Error).message}`);
    }
}

export interface WarmServerRequest {
    backupsDir: string;
    walFolders: string[];
    loc: ClusterLocation;
    /** Apply only WAL older than this (recovery_min_apply_delay), e.g. "3h" as seconds text "10800s". */
    minApplyDelay: string;
    settings?: Record<string, string>;
}

/** Where a warm server records the base backup it was made from (a cutover in place needs it before the target). */
export const STANDING_BY_RECORD = "standing-by.json";

/** A warm server: the newest base backup in continuous recovery (standby.signal), applying WAL from the folders. */
export function createWarmServer(req: WarmServerRequest): BaseBackup {
    const plan = chooseBaseBackup(listBaseBackups(req.backupsDir, req.loc.machine), "latest");
    if (!plan.ok) {
        throw new Error(`cannot start the warm server: ${plan.reason}`);
    }
    copyBackup(req.loc, req.backupsDir, plan.backup.id);
    cluster.hostOfServer(req.loc).writeFile(path.join(req.loc.serverDir, STANDING_BY_RECORD), JSON.stringify({ id: plan.backup.id, finishedAt: plan.backup.finishedAt }) + "\n", {
        mode: 0o644,
        owned: false,
    });
    cluster.writeCopySettings(req.loc, warmSettings(req));
    writeSignal(req.loc, "standby.signal");
    cluster.startCluster(req.loc);
    return plan.backup;
}

export function warmSettings(req: WarmServerRequest): Record<string, string> {
    return { ...req.settings, archive_mode: "off", hot_standby: "on", restore_command: restoreCommandFor(req.walFolders), recovery_min_apply_delay: req.minApplyDelay };
}

function copyBackup(loc: ClusterLocation, backupsDir: string, id: string): void {
    const host = cluster.hostOfServer(loc);
    host.makeFolder(loc.serverDir);
    // cp -a keeps the files' owner (the servers' OS user) and modes.
    host.copyTree(backupDataDir(backupsDir, id), cluster.dataDirOf(loc));
    host.remove(path.join(cluster.dataDirOf(loc), "standby.signal"));
}

function writeSignal(loc: ClusterLocation, name: "recovery.signal" | "standby.signal"): void {
    cluster.hostOfServer(loc).writeFile(path.join(cluster.dataDirOf(loc), name), "", { mode: 0o644 });
}

function superuser(loc: ClusterLocation, password: string) {
    return { host: loc.host, port: loc.port, user: cluster.SUPERUSER, password, database: "postgres", connectionTimeoutMillis: 5_000 };
}

/** Waits until the server has left recovery; throws with the server's own reason when it stops instead. */
export async function waitUntilPromoted(loc: ClusterLocation, password: string, timeoutMs: number): Promise<string> {
    const promoted = async () => {
        const inRecovery = await withClient(superuser(loc, password), async (c) => Boolean((await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r)).catch(
            () => undefined,
        );
        if (inRecovery === undefined && cluster.clusterStatus(loc) !== "running") {
            throw new Error(`the server stopped during recovery: ${recoveryFailure(loc)}`);
        }
        return inRecovery === false && new Date().toISOString();
    };
    return waitUntil(promoted, { timeoutMs, intervalMs: 100, failure: `recovery did not finish within ${Math.round(timeoutMs / 1000)} s` });
}

/** The server's FATAL lines (e.g. "recovery ended before configured recovery target was reached"). */
function recoveryFailure(loc: ClusterLocation): string {
    try {
        const lines = cluster.hostOfServer(loc).readText(cluster.logFileOf(loc)).trimEnd().split("\n");
        const fatal = lines.filter((l) => /FATAL|PANIC/.test(l));
        return (fatal.length > 0 ? fatal : lines.slice(-5)).slice(-3).join("\n");
    } catch {
        return "(no server log)";
    }
}
