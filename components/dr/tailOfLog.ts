// The tail of production's log, saved before a cutover (the runbook's first step): when the old
// primary still answers, it closes its current WAL segment (pg_switch_wal) and we wait until its
// archiver has archived it; when only its data folder is readable here, the segments it has not
// archived yet are copied out of its pg_wal — into a folder of the DR site's own, never into the
// archive, so the old primary's archiver can still archive its complete segments should it return.
// Plain Node (no Pulumi), plain functions.
import * as path from "path";
import { hostOf } from "../platform/local";
import { withClient } from "../postgres/pg";
import { waitUntil } from "../postgres/poll";
import type { SourceServer } from "../backup/pitrBackups";
import { SUPERUSER } from "../postgres/cluster";

export interface TailOfLogRequest {
    /** The old primary, when it may still answer. */
    primary?: SourceServer;
    /** Its data directory, when readable on this machine. */
    primaryDataDir?: string;
    /** Folder the old primary archives into. */
    archive: string;
    /** Where copied, not-yet-archived segments go (the DR site's own folder). */
    tailFolder: string;
    /** How long to wait for the archiver. @default 60_000 */
    timeoutMs?: number;
    /** Gives a copied file or folder to the servers' OS user (which runs the restore command). */
    own?: (file: string) => void;
}

export interface TailOfLog {
    /** archived: the primary archived its last segment; copied: segments copied from its data folder; none: neither was possible. */
    method: "archived" | "copied" | "none";
    /** The segments that make the tail (archived, or copied). */
    segments: string[];
    detail: string;
}

const SEGMENT = /^[0-9A-F]{24}$/;

/** Saves the tail of the old primary's log, saying which way it could. */
export async function saveTailOfLog(req: TailOfLogRequest): Promise<TailOfLog> {
    let unreachable = "no connection details";
    if (req.primary) {
        try {
            return await archiveTail(req.primary, req.archive, req.timeoutMs ?? 60_000);
        } catch (err) {
            if (!(err as { unreachable?: boolean }).unreachable) {
                throw err;
            }
            unreachable = (err as Error).message;
        }
    }
    if (req.primaryDataDir && filesHost().exists(path.join(req.primaryDataDir, "pg_wal"))) {
        const segments = copyUnarchivedSegments(req.primaryDataDir, req.archive, req.tailFolder, req.own);
        return {
            method: "copied",
            segments,
            detail: `the old primary did not answer (${unreachable}); copied ${segments.length} not-yet-archived segment(s) from its data folder`,
        };
    }
    return { method: "none", segments: [], detail: `the old primary did not answer (${unreachable}) and its data folder is not readable here: recovery uses the archived WAL only` };
}

async function archiveTail(primary: SourceServer, archive: string, timeoutMs: number): Promise<TailOfLog> {
    const connection = { host: primary.host, port: primary.port, user: SUPERUSER, password: primary.superuserPassword, database: "postgres", connectionTimeoutMillis: 5_000 };
    let segment: string;
    try {
        segment = await withClient(connection, async (c) => (await c.query("SELECT pg_walfile_name(pg_switch_wal()) AS segment")).rows[0].segment as string);
    } catch (err) {
        const code = (err as { code?: string }).code;
        // Only "cannot connect" means unreachable; anything else (a standby, rights) is an error to show.
        if (code === undefined || code === "ECONNREFUSED" || code === "ETIMEDOUT" || code === "57P03") {
            throw Object.assign(new Error((err as Error).message), { unreachable: true });
        }
        throw err;
    }
    let archiver: { last_archived_wal: string | null; last_failed_wal: string | null; last_failed_time: Date | null } | undefined;
    const archived = async () => {
        archiver = await withClient(connection, async (c) => (await c.query("SELECT last_archived_wal, last_failed_wal, last_failed_time FROM pg_stat_archiver")).rows[0]);
        return filesHost().exists(path.join(archive, segment)) || Boolean(archiver!.last_archived_wal && archiver!.last_archived_wal >= segment);
    };
    const failure = () => {
        const failing = archiver?.last_failed_wal ? `; its archiver last failed on ${archiver.last_failed_wal} at ${archiver.last_failed_time}` : "";
        return `the old primary did not archive its last WAL segment ${segment} within ${Math.round(timeoutMs / 1000)} s${failing}`;
    };
    await waitUntil(archived, { timeoutMs, intervalMs: 200, failure });
    return { method: "archived", segments: [segment], detail: `the old primary switched to a new WAL segment and archived ${segment}` };
}

/**
 * Copies the segments of `dataDir/pg_wal` that are not archived yet (marked .ready, or the one being
 * written) and newer than the newest archived one into `tailFolder`, atomically; returns their names.
 */
export function copyUnarchivedSegments(dataDir: string, archive: string, tailFolder: string, own: (file: string) => void = () => undefined): string[] {
    const host = filesHost();
    const walDir = path.join(dataDir, "pg_wal");
    if (!host.exists(walDir)) {
        throw Object.assign(new Error(`ENOENT: no such file or directory, scandir '${walDir}'`), { code: "ENOENT" });
    }
    const archived = host.list(archive).filter((f) => SEGMENT.test(f)).sort();
    const newestArchived = archived[archived.length - 1] ?? "";
    const candidates = host.list(walDir).filter((f) => SEGMENT.test(f) && f > newestArchived);
    const ready = new Set(host.list(path.join(walDir, "archive_status")).filter((f) => f.endsWith(".ready")).map((f) => f.replace(/\.ready$/, "")));
    // Preallocated (recycled) segments carry old content under future names: the one being written is the newest by time.
    const modified = (name: string) => host.facts(path.join(walDir, name))!.modifiedAt.getTime();
    const beingWritten = candidates.sort((a, b) => modified(b) - modified(a))[0];
    const chosen = candidates.filter((f) => ready.has(f) || f === beingWritten).sort();
    host.makeFolder(tailFolder, { mode: 0o777, owned: false });
    own(tailFolder);
    for (const name of chosen) {
        const temp = path.join(tailFolder, `.${name}.tmp`);
        host.copyFile(path.join(walDir, name), temp);
        own(temp);
        host.rename(temp, path.join(tailFolder, name));
    }
    return chosen;
}

/** The host of the WAL folders, where only files are touched: this machine. */
function filesHost() {
    return hostOf({ binDir: "" });
}

/** Creates a named restore point on the primary (pg_create_restore_point) and returns its WAL position. */
export async function createRestorePoint(primary: SourceServer, name: string): Promise<{ name: string; lsn: string; createdAt: string }> {
    const connection = { host: primary.host, port: primary.port, user: SUPERUSER, password: primary.superuserPassword, database: "postgres" };
    return withClient(connection, async (c) => {
        const { rows } = await c.query("SELECT pg_create_restore_point($1)::text AS lsn, clock_timestamp() AS at", [name]);
        return { name, lsn: rows[0].lsn as string, createdAt: (rows[0].at as Date).toISOString() };
    });
}
