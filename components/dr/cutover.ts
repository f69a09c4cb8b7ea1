// A DR cutover on this machine, in the runbook's order: refuse a target that cannot be reached
// (before anything changes); save the tail of production's log; ship what production archived;
// recover the DR server to the one instant and promote it. A warm server that has not applied
// anything past the target recovers in place (only the rest of the WAL); otherwise the newest base
// backup before the target is restored, the warm folder set aside and put back, standing by again,
// should that fail. Plain Node (no Pulumi).
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { BaseBackup, listBaseBackups, SourceServer } from "../backup/pitrBackups";
import { withClient } from "../postgres/pg";
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { ArchiveSource, pullOnce } from "../shipping/shipper";
import {
    describeTarget,
    planRestore,
    RecoveryTarget,
    recoverySettings,
    restoreToInstant,
    STANDING_BY_RECORD,
    waitUntilPromoted,
    warmSettings,
    WarmServerRequest,
} from "../backup/restore";
import { saveTailOfLog, TailOfLog } from "./tailOfLog";

export interface CutoverRequest {
    target: RecoveryTarget;
    /** Production's server, when it may still answer. */
    production?: SourceServer;
    /** Production's data directory, when readable here. */
    productionDataDir?: string;
    /** Production's WAL archive. */
    archive: string;
    /** The DR site's folder of shipped WAL. */
    incoming: string;
    /** The DR site's folder for segments copied from production's pg_wal. */
    tailFolder: string;
    backupsDir: string;
    /** The DR server (a warm one may be running there in recovery). */
    loc: ClusterLocation;
    /** The restored cluster's superuser password (production's). */
    superuserPassword: string;
    settings?: Record<string, string>;
    /** The warm server standing by in `loc`, if any: what it was made from and runs with. */
    standingBy?: WarmServerRequest;
    /**
     * A DR server on another machine than production's archive: its shipper's state folder and the
     * PostgreSQL programs there, for the last shipment read through production's server. @default the archive is a folder here
     */
    pulledFrom?: { stateDir: string; binDir: string; sources?: ArchiveSource[] };
    onProgress?: (line: string) => void;
}

export interface CutoverReport {
    /** "time 2026-…", "restore point \"x\"", "the latest archived WAL". */
    target: string;
    recoveredTo: string | null;
    promotedAt: string;
    tailOfLog: TailOfLog;
    /** The base backup recovery started from (in place: the one the warm server was made from). */
    baseBackup: string;
    /** "in place": the warm server replayed the rest; "from base backup": restored anew. */
    method: "in place" | "from base backup";
}

export const CUTOVER_RECORD = "cutover.json";
const SET_ASIDE = "pgdata.standing-by";

function writeCutoverRecord(loc: ClusterLocation, report: CutoverReport): void {
    cluster.hostOfServer(loc).writeFile(path.join(loc.serverDir, CUTOVER_RECORD), JSON.stringify(report, null, 2) + "\n", { mode: 0o644, owned: false });
}

/** Replaces one recovery signal file of the data directory with the other (given to the server's user). */
function switchSignal(loc: ClusterLocation, from: "standby.signal" | "recovery.signal", to: "standby.signal" | "recovery.signal"): void {
    const host = cluster.hostOfServer(loc);
    host.remove(path.join(cluster.dataDirOf(loc), from));
    host.writeFile(path.join(cluster.dataDirOf(loc), to), "", { mode: 0o644 });
}

/** The report of a cutover already made on this server (on `machine`), if any. */
export function previousCutover(serverDir: string, machine?: RemoteMachine): CutoverReport | undefined {
    try {
        return JSON.parse(hostOf({ binDir: "", machine }).readText(path.join(serverDir, CUTOVER_RECORD))) as CutoverReport;
    } catch {
        return undefined;
    }
}

/** Why the target cannot be reached from the backups here, or undefined. Changes nothing. */
export function cutoverRefusal(backupsDir: string, target: RecoveryTarget, now = new Date(), machine?: RemoteMachine): string | undefined {
    const plan = planRestore(listBaseBackups(backupsDir, machine), target, now);
    return plan.ok ? undefined : `cannot recover to ${describeTarget(target)}: ${plan.reason}; nothing was changed`;
}

/** Copies archived WAL the DR site does not have yet into its incoming folder (copy, then link: never overwrites). */
export function shipNow(archive: string, incoming: string, own: (file: string) => void): string[] {
    const shipped: string[] = [];
    const host = hostOf({ binDir: "" }); // the WAL folders: only files are touched
    host.makeFolder(incoming, { mode: 0o777, owned: false });
    if (!host.exists(archive)) {
        throw Object.assign(new Error(`ENOENT: no such file or directory, scandir '${archive}'`), { code: "ENOENT" });
    }
    for (const name of host.list(archive).filter((f) => !f.startsWith(".")).sort()) {
        const dest = path.join(incoming, name);
        if (host.exists(dest)) {
            continue;
        }
        const temp = path.join(incoming, `.${name}.cutover`);
        host.copyFile(path.join(archive, name), temp);
        own(temp);
        try {
            host.link(temp, dest);
            shipped.push(name);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err; // the shipper was quicker
        } finally {
            host.remove(temp);
        }
    }
    return shipped;
}

export async function cutOver(req: CutoverRequest): Promise<CutoverReport> {
    const progress = req.onProgress ?? (() => undefined);
    const refusal = cutoverRefusal(req.backupsDir, req.target, new Date(), req.loc.machine);
    if (refusal !== undefined) {
        throw new Error(refusal);
    }
    const own = (file: string) => cluster.chownToServerUser(req.loc, file);
    // A warm server applies nothing more from here on (the tail and the last shipment included), so
    // whether it has passed the target can be judged below.
    const paused = req.standingBy ? await pauseReplay(req) : false;
    const tailOfLog = await saveTailOfLog({ primary: req.production, primaryDataDir: req.productionDataDir, archive: req.archive, tailFolder: req.tailFolder, own });
    progress(`tail of the log: ${tailOfLog.detail}`);
    if (req.pulledFrom !== undefined && req.production !== undefined) {
        // Production's archive is on its machine: read what is left of it through its server, when it answers.
        try {
            const status = await pullOnce({
                from: req.archive, to: req.incoming, stateDir: req.pulledFrom.stateDir, intervalMs: 1_000, osUser: req.loc.osUser, machine: req.loc.machine,
                pull: { primary: req.production, binDir: req.pulledFrom.binDir, sources: req.pulledFrom.sources },
            });
            progress(`last shipment from production's archive: newest ${status.newestShipped ?? "none"}`);
        } catch (err) {
            progress(`last shipment from production's archive not possible (${(err as Error).message}): recovery uses what was shipped`);
        }
    } else if (req.pulledFrom === undefined && hostOf({ binDir: "" }).exists(req.archive)) {
        progress(`shipped ${shipNow(req.archive, req.incoming, own).length} archived WAL file(s) not shipped yet`);
    }
    const inPlace = paused ? await recoverInPlace(req, progress) : undefined;
    if (inPlace !== undefined) {
        const report: CutoverReport = { target: describeTarget(req.target), ...inPlace, tailOfLog, method: "in place" };
        writeCutoverRecord(req.loc, report);
        return report;
    }
    const dataDir = cluster.dataDirOf(req.loc);
    const setAside = path.join(req.loc.serverDir, SET_ASIDE);
    const host = cluster.hostOfServer(req.loc);
    const warm = host.exists(dataDir);
    if (warm) {
        cluster.stopCluster(req.loc);
        host.remove(setAside);
        host.rename(dataDir, setAside);
    }
    let result: { backup: BaseBackup; recoveredTo: string | null; promotedAt: string };
    try {
        result = await restoreToInstant({
            backupsDir: req.backupsDir,
            walFolders: [req.incoming, req.tailFolder],
            target: req.target,
            loc: req.loc,
            superuserPassword: req.superuserPassword,
            settings: req.settings,
            onProgress: progress,
        });
    } catch (err) {
        if (warm) {
            host.rename(setAside, dataDir);
            standByAgain(req); // the warm server stands by again, as it was
        }
        throw err;
    }
    host.remove(setAside);
    const report: CutoverReport = {
        target: describeTarget(req.target),
        recoveredTo: result.recoveredTo,
        promotedAt: result.promotedAt,
        tailOfLog,
        baseBackup: result.backup.id,
        method: "from base backup",
    };
    writeCutoverRecord(req.loc, report);
    return report;
}


/** Writes standby.signal and the warm settings back (after a failed attempt), and starts the server. */
function standByAgain(req: CutoverRequest): void {
    cluster.hostOfServer(req.loc).remove(path.join(cluster.dataDirOf(req.loc), "recovery.signal"));
    if (req.standingBy) {
        cluster.writeCopySettings(req.loc, warmSettings(req.standingBy));
        switchSignal(req.loc, "recovery.signal", "standby.signal");
    }
    cluster.startCluster(req.loc);
}

/**
 * The warm server replays the rest of the WAL up to the target and is promoted — when it can: a time
 * target (or latest), a base backup complete before the target, and nothing applied past it. Replay
 * is paused before the check, so nothing is applied between the check and the stop. Returns
 * undefined (the server stopped, as it was) when it cannot or the attempt failed.
 */
function superuserOf(req: CutoverRequest) {
    return { host: req.loc.host, port: req.loc.port, user: cluster.SUPERUSER, password: req.superuserPassword, database: "postgres", connectionTimeoutMillis: 5_000 };
}

/** Asks a running warm server to apply no further WAL; false when it is not running or does not answer. */
async function pauseReplay(req: CutoverRequest): Promise<boolean> {
    if (cluster.clusterStatus(req.loc) !== "running") {
        return false;
    }
    return withClient(superuserOf(req), async (c) => {
        await c.query("SELECT pg_wal_replay_pause()");
        // A pause request stops replay before the next record; the one being applied finishes first.
        await new Promise((r) => setTimeout(r, 200));
        return true;
    }).catch(() => false);
}

async function recoverInPlace(req: CutoverRequest, progress: (line: string) => void): Promise<Omit<CutoverReport, "target" | "tailOfLog" | "method"> | undefined> {
    if ("name" in req.target) {
        return undefined; // a restore point's place in the WAL is not known before recovery reaches it
    }
    let madeFrom: { id: string; finishedAt: string };
    try {
        madeFrom = JSON.parse(cluster.hostOfServer(req.loc).readText(path.join(req.loc.serverDir, STANDING_BY_RECORD)));
    } catch {
        return undefined;
    }
    const targetMs = "time" in req.target ? Date.parse(req.target.time) : Infinity;
    if (Date.parse(madeFrom.finishedAt) > targetMs) {
        return undefined;
    }
    const connection = superuserOf(req);
    const replayed = await withClient(connection, async (c) => {
        const at = (await c.query("SELECT pg_last_xact_replay_timestamp() AS at")).rows[0].at as Date | null;
        return at === null ? null : at.getTime();
    }).catch(() => undefined);
    // No transaction replayed since it last started says nothing about what it applied before: only
    // "latest" may then go on in place.
    const unknown = replayed === undefined || (replayed === null && targetMs !== Infinity);
    if (unknown || (replayed !== null && replayed! >= targetMs)) {
        progress(unknown ? "what the warm server has applied is not known: restoring from the base backup" : "the warm server has applied WAL past the target: restoring from the base backup");
        return undefined;
    }
    progress(`the warm server has applied nothing past the target: replaying the rest in place`);
    cluster.stopCluster(req.loc);
    cluster.hostOfServer(req.loc).remove(path.join(cluster.dataDirOf(req.loc), "standby.signal"));
    cluster.writeCopySettings(req.loc, { ...req.settings, archive_mode: "off", hot_standby: "on", ...recoverySettings(req.target, [req.incoming, req.tailFolder]) });
    switchSignal(req.loc, "standby.signal", "recovery.signal");
    try {
        cluster.startCluster(req.loc);
        const promotedAt = await waitUntilPromoted(req.loc, req.superuserPassword, 30 * 60_000);
        const recoveredTo = await withClient(connection, async (c) => {
            const at = (await c.query("SELECT pg_last_xact_replay_timestamp() AS at")).rows[0].at as Date | null;
            return at ? at.toISOString() : null;
        });
        progress(`recovered in place to ${recoveredTo ?? "the warm server's last transaction"} and promoted at ${promotedAt}`);
        return { recoveredTo, promotedAt, baseBackup: madeFrom.id };
    } catch (err) {
        progress(`recovering in place failed (${(err as Error).message.split("\n")[0]}): restoring from the base backup`);
        try {
            cluster.stopCluster(req.loc);
        } catch {
            // it stopped by itself
        }
        // Put it back as a standby (stopped); the base-backup path sets it aside.
        switchSignal(req.loc, "recovery.signal", "standby.signal");
        cluster.writeCopySettings(req.loc, warmSettings(req.standingBy!));
        return undefined;
    }
}
