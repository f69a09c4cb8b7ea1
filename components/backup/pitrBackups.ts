// Base backups of a production server for point-in-time recovery: pg_basebackup (plain format, WAL
// streamed, so each backup is consistent on its own), checked with pg_verifybackup, described by a
// small manifest (start/finish time, WAL start/end, size). A backup lands under a temporary name and
// is renamed into place only once complete and verified: a half-made backup is never chosen.
// Plain Node (no Pulumi), plain functions.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { runWatched, writePgpass } from "../copy/programs";

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

/** Programs run as the servers' OS user, from the backups folder. */
export function backupsLocation(binDir: string, backupsDir: string, osUser: string | undefined): ClusterLocation {
    return { binDir, serverDir: backupsDir, host: "127.0.0.1", port: 0, osUser };
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
    fs.mkdirSync(path.dirname(backupsDir), { recursive: true, mode: 0o755 }); // the servers' OS user passes through
    fs.mkdirSync(backupsDir, { recursive: true, mode: 0o700 });
    cluster.chownToServerUser(loc, backupsDir);
    cluster.assertServerUserCanReach(loc, backupsDir);
    const started = new Date();
    const id = idOf(started);
    const incoming = path.join(backupsDir, id + INCOMING_SUFFIX);
    const passfile = path.join(backupsDir, `.pgpass-${id}`);
    fs.rmSync(incoming, { recursive: true, force: true });
    fs.mkdirSync(incoming, { mode: 0o700 });
    cluster.chownToServerUser(loc, incoming);
    try {
        writePgpass(loc, passfile, source);
        const dataDir = path.join(incoming, "pgdata");
        await runWatched(
            loc,
            "pg_basebackup",
            ["-h", source.host, "-p", String(source.port), "-U", cluster.SUPERUSER, "-D", dataDir, "-X", "stream", "-c", "fast", "-w", "--progress"],
            { PGPASSFILE: passfile },
            onProgress,
        );
        const finishedAt = new Date().toISOString();
        await runWatched(loc, "pg_verifybackup", ["--quiet", dataDir], {});
        const walRange = (JSON.parse(fs.readFileSync(path.join(dataDir, "backup_manifest"), "utf8"))["WAL-Ranges"] as Record<string, string | number>[])[0];
        const backup: BaseBackup = {
            id,
            startedAt: started.toISOString(),
            finishedAt,
            timeline: Number(walRange.Timeline),
            startLsn: String(walRange["Start-LSN"]),
            endLsn: String(walRange["End-LSN"]),
            bytes: directoryBytes(dataDir),
            verified: true,
            systemIdentifier: systemIdentifierOf(loc, dataDir),
        };
        fs.writeFileSync(path.join(incoming, MANIFEST), JSON.stringify(backup, null, 2) + "\n");
        fs.renameSync(incoming, path.join(backupsDir, id));
        return backup;
    } catch (err) {
        fs.rmSync(incoming, { recursive: true, force: true });
        throw new Error(`base backup of ${source.host}:${source.port} failed: ${(err as Error).message}`);
    } finally {
        fs.rmSync(passfile, { force: true });
    }
}

function systemIdentifierOf(loc: ClusterLocation, dataDir: string): string {
    const out = cluster.runProgram(loc, "pg_controldata", [dataDir]);
    return /Database system identifier:\s*(\d+)/.exec(out)?.[1] ?? "";
}

export function directoryBytes(dir: string): number {
    const out = childProcess.execFileSync("du", ["-sb", dir], { encoding: "utf8" });
    return Number(out.split(/\s/)[0]);
}

/** The complete backups in `backupsDir`, oldest first (backups still being taken are left out). */
export function listBaseBackups(backupsDir: string): BaseBackup[] {
    if (!fs.existsSync(backupsDir)) {
        return [];
    }
    return fs
        .readdirSync(backupsDir)
        .filter((name) => !name.endsWith(INCOMING_SUFFIX) && fs.existsSync(path.join(backupsDir, name, MANIFEST)))
        .map((name) => JSON.parse(fs.readFileSync(path.join(backupsDir, name, MANIFEST), "utf8")) as BaseBackup)
        .sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** Removes all but the newest `keep` backups (and leftovers of interrupted ones); returns the ids removed. */
export function pruneBaseBackups(backupsDir: string, keep: number): string[] {
    const removed: string[] = [];
    for (const name of fs.existsSync(backupsDir) ? fs.readdirSync(backupsDir) : []) {
        if (name.endsWith(INCOMING_SUFFIX) || name.startsWith(".pgpass-")) {
            fs.rmSync(path.join(backupsDir, name), { recursive: true, force: true });
        }
    }
    const all = listBaseBackups(backupsDir);
    for (const backup of all.slice(0, Math.max(0, all.length - keep))) {
        fs.rmSync(path.join(backupsDir, backup.id), { recursive: true, force: true });
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
