// Base backups of a production server for point-in-time recovery: pg_basebackup (plain format, WAL
// streamed, so each backup is consistent on its own), checked with pg_verifybackup, described by a
// small manifest (start/finish time, WAL start/end, size). A backup lands under a temporary name and
// is renamed into place only once complete and verified: a half-made backup is never chosen.
// Plain Node (no Pulumi), plain functions.
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { runWatched } from "../copy/programs";
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";

export interface SourceServer {
    host: string;
    port: number;
    superuserPassword: string;
}

export interface BaseBackup {
    /** Folder name under the backups folder, e.g. "20261122T043000123Z". */
    id: string;
    /** Just before pg_basebackup started (the backup holds nothing committed after `finishedAt`). */
    startedAt: string;
    /** Once the backup was complete: a recovery target must not lie before this instant. */
    finishedAt: string;
    timeline: number;
    startLsn: string;
    endLsn: string;
    bytes: number;
    /** pg_verifybackup found every file as the server's manifest lists it. */
    verified: boolean;
    systemIdentifier: string;
}

export const MANIFEST = "stagewise-backup.json";
const INCOMING_SUFFIX = ".incoming";

/** Programs run as the servers' OS user, from the backups folder (on `machine` when given). */
export function backupsLocation(binDir: string, backupsDir: string, osUser: string | undefined, machine?: RemoteMachine): ClusterLocation {
    return { binDir, serverDir: backupsDir, host: "127.0.0.1", port: 0, osUser, ...(machine ? { machine } : {}) };
}

/** Where a backup's data directory lies. */
export function backupDataDir(backupsDir: string, id: string): string {
    return path.join(backupsDir, id, "pgdata");
}

function idOf(time: Date): string {
    return time.toISOString().replace(/[-:.]/g, "");
}

/** Takes one base backup of `source` into `backupsDir` and returns its manifest. */
export async function takeBaseBackup(
    loc: ClusterLocation,
    source: SourceServer,
    onProgress: (line: string) => void = () => undefined,
): Promise<BaseBackup> {
    const backupsDir = loc.serverDir;
    const host = hostOf(loc);
    host.makeFolder(path.dirname(backupsDir), { mode: 0o755, owned: false }); // the servers' OS user passes through
    host.makeFolder(backupsDir);
    cluster.assertServerUserCanReach(loc, backupsDir);
    const started = new Date();
    const id = idOf(started);
    const incoming = path.join(backupsDir, id + INCOMING_SUFFIX);
    host.remove(incoming);
    host.makeFolder(incoming);
    try {
        const dataDir = path.join(incoming, "pgdata");
        await host.baseBackup(source, { dataDir, workDir: backupsDir, passfile: path.join(backupsDir, `.pgpass-${id}`), onProgress });
        const finishedAt = new Date().toISOString();
        await runWatched(loc, "pg_verifybackup", ["--quiet", dataDir], {});
        const walRange = (JSON.parse(host.readText(path.join(dataDir, "backup_manifest")))["WAL-Ranges"] as Record<string, string | number>[])[0];
        const backup: BaseBackup = {
            id,
            startedAt: started.toISOString(),
            finishedAt,
            timeline: Number(walRange.Timeline),
            startLsn: String(walRange["Start-LSN"]),
            endLsn: String(walRange["End-LSN"]),
            bytes: host.folderBytes(dataDir),
            verified: true,
            systemIdentifier: systemIdentifierOf(loc, dataDir),
        };
        host.writeFile(path.join(incoming, MANIFEST), JSON.stringify(backup, null, 2) + "\n", { mode: 0o644, owned: false });
        host.rename(incoming, path.join(backupsDir, id));
        return backup;
    } catch (err) {
        host.remove(incoming);
        throw new Error(`base backup of ${source.host}:${source.port} failed: ${(err as Error).message}`);
    }
}

function systemIdentifierOf(loc: ClusterLocation, dataDir: string): string {
    const out = cluster.runProgram(loc, "pg_controldata", [dataDir]);
    return /Database system identifier:\s*(\d+)/.exec(out)?.[1] ?? "";
}

/** The backups folder's host (a listing needs no program folder): this machine, or `machine`. */
function filesHost(machine: RemoteMachine | undefined) {
    return hostOf({ binDir: "", machine });
}

/** The complete backups in `backupsDir` (on `machine`), oldest first (backups still being taken are left out). */
export function listBaseBackups(backupsDir: string, machine?: RemoteMachine): BaseBackup[] {
    const host = filesHost(machine);
    return host
        .list(backupsDir)
        .filter((name) => !name.endsWith(INCOMING_SUFFIX) && host.exists(path.join(backupsDir, name, MANIFEST)))
        .map((name) => JSON.parse(host.readText(path.join(backupsDir, name, MANIFEST))) as BaseBackup)
        .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** Removes all but the newest `keep` backups (and leftovers of interrupted ones); returns the ids removed. */
export function pruneBaseBackups(backupsDir: string, keep: number, machine?: RemoteMachine): string[] {
    const removed: string[] = [];
    const host = filesHost(machine);
    for (const name of host.list(backupsDir)) {
        if (name.endsWith(INCOMING_SUFFIX) || name.startsWith(".pgpass-")) {
            host.remove(path.join(backupsDir, name));
        }
    }
    const all = listBaseBackups(backupsDir, machine);
    for (const backup of all.slice(0, Math.max(0, all.length - keep))) {
        host.remove(path.join(backupsDir, backup.id));
        removed.push(backup.id);
    }
    return removed;
}

/** The newest backup complete before `target` (all of them for "latest"), or why there is none. */
export function chooseBaseBackup(backups: BaseBackup[], target: Date | "latest"): { ok: true; backup: BaseBackup } | { ok: false; reason: string } {
    if (backups.length === 0) {
        return { ok: false, reason: "there is no base backup yet (take one first)" };
    }
    if (target === "latest") {
        return { ok: true, backup: backups[backups.length - 1] };
    }
    const before = backups.filter((b) => new Date(b.finishedAt).getTime() <= target.getTime());
    if (before.length === 0) {
        return {
            ok: false,
            reason: `${target.toISOString()} is before the oldest base backup (complete at ${backups[0].finishedAt}); the earliest instant that can be recovered is ${backups[0].finishedAt}`,
        };
    }
    return { ok: true, backup: before[before.length - 1] };
}
