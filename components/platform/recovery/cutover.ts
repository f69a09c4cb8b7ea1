// A DR cutover on this machine, in the runbook's order: refuse a target that cannot be reached
// (before anything changes); save the tail of production's log; ship what production archived;
// recover the DR server to the one instant (from a base backup; a warm server's folder is set aside
// and put back should recovery fail) and promote it. Plain Node (no Pulumi).
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../cluster";
import type { ClusterLocation } from "../cluster";
import { BaseBackup, listBaseBackups, SourceServer } from "./backups";
import { describeTarget, planRestore, RecoveryTarget, restoreToInstant } from "./restore";
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
    onProgress?: (line: string) => void;
}

export interface CutoverReport {
    /** "time 2026-…", "restore point \"x\"", "the latest archived WAL". */
    target: string;
    recoveredTo: string | null;
    promotedAt: string;
    tailOfLog: TailOfLog;
    baseBackup: string;
}

export const CUTOVER_RECORD = "cutover.json";
const SET_ASIDE = "pgdata.standing-by";

/** The report of a cutover already made on this server, if any. */
export function previousCutover(serverDir: string): CutoverReport | undefined {
    try {
        return JSON.parse(fs.readFileSync(path.join(serverDir, CUTOVER_RECORD), "utf8")) as CutoverReport;
    } catch {
        return undefined;
    }
}

/** Why the target cannot be reached from the backups here, or undefined. Changes nothing. */
export function cutoverRefusal(backupsDir: string, target: RecoveryTarget, now = new Date()): string | undefined {
    const plan = planRestore(listBaseBackups(backupsDir), target, now);
    return plan.ok ? undefined : `cannot recover to ${describeTarget(target)}: ${plan.reason}; nothing was changed`;
}

/** Copies archived WAL the DR site does not have yet into its incoming folder (copy, then link: never overwrites). */
export function shipNow(archive: string, incoming: string, own: (file: string) => void): string[] {
    const shipped: string[] = [];
    fs.mkdirSync(incoming, { recursive: true });
    for (const name of fs.readdirSync(archive).filter((f) => !f.startsWith(".")).sort()) {
        const dest = path.join(incoming, name);
        if (fs.existsSync(dest)) {
            continue;
        }
        const temp = path.join(incoming, `.${name}.cutover`);
        fs.copyFileSync(path.join(archive, name), temp);
        own(temp);
        try {
            fs.linkSync(temp, dest);
            shipped.push(name);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err; // the shipper was quicker
        } finally {
            fs.rmSync(temp, { force: true });
        }
    }
    return shipped;
}

export async function cutOver(req: CutoverRequest): Promise<CutoverReport> {
    const progress = req.onProgress ?? (() => undefined);
    const refusal = cutoverRefusal(req.backupsDir, req.target);
    if (refusal !== undefined) {
        throw new Error(refusal);
    }
    const own = (file: string) => cluster.chownToServerUser(req.loc, file);
    const tailOfLog = await saveTailOfLog({ primary: req.production, primaryDataDir: req.productionDataDir, archive: req.archive, tailFolder: req.tailFolder, own });
    progress(`tail of the log: ${tailOfLog.detail}`);
    if (fs.existsSync(req.archive)) {
        progress(`shipped ${shipNow(req.archive, req.incoming, own).length} archived WAL file(s) not shipped yet`);
    }
    const dataDir = cluster.dataDirOf(req.loc);
    const setAside = path.join(req.loc.serverDir, SET_ASIDE);
    const warm = fs.existsSync(dataDir);
    if (warm) {
        cluster.stopCluster(req.loc);
        fs.rmSync(setAside, { recursive: true, force: true });
        fs.renameSync(dataDir, setAside);
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
            fs.renameSync(setAside, dataDir);
            cluster.startCluster(req.loc); // the warm server stands by again, as it was
        }
        throw err;
    }
    fs.rmSync(setAside, { recursive: true, force: true });
    const report: CutoverReport = { target: describeTarget(req.target), recoveredTo: result.recoveredTo, promotedAt: result.promotedAt, tailOfLog, baseBackup: result.backup.id };
    fs.writeFileSync(path.join(req.loc.serverDir, CUTOVER_RECORD), JSON.stringify(report, null, 2) + "\n");
    return report;
}
