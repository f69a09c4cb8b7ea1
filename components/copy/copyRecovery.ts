// Recovery after an interrupted copy (kill -9 included): reads the journal and puts the previous
// databases back, or finishes a committed copy's clean-up, then leaves the server running or stopped as
// it was before the copy. copy.ts runs it before each copy and to roll back a failed one.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as os from "os";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { hostOf } from "../platform/local";
import { copyPathsOf, COPY_COMPLETE_MARK, fsyncDir, readJournal, JOURNAL_TMP_PREFIX } from "./journal";
import type { CopyJournal } from "./journal";
import { settleStrayPrograms, staleSocketFiles, stopServerOn } from "./processes";
import { PGPASS_PREFIX } from "./programs";
import type { RecoveryReport } from "./copyTypes";

/**
 * Brings the server folder back to a clean state after an interrupted copy; idempotent, and cheap when
 * there is nothing to do, so any code may call it before touching a server. A copy that did not commit
 * is undone (the previous databases are put back and the server is left running or stopped as it was
 * before the copy); a committed copy's leftovers are removed. Refuses while a copy is still running.
 */
export async function recoverInterruptedCopy(loc: ClusterLocation, onProgress?: (message: string) => void): Promise<RecoveryReport> {
    return recoverCopy(loc, undefined, onProgress ?? (() => undefined));
}

export async function recoverCopy(loc: ClusterLocation, ownCopyId: string | undefined, log: (message: string) => void): Promise<RecoveryReport> {
    const p = copyPathsOf(loc);
    const host = cluster.hostOfServer(loc);
    const actions: string[] = [];
    const act = (message: string) => {
        actions.push(message);
        log(`recovery: ${message}`);
    };
    if (!host.exists(loc.serverDir)) {
        return { outcome: "none", actions };
    }
    const traces = [p.journal, p.incoming, p.previous, p.discarded, path.join(p.data, COPY_COMPLETE_MARK)].filter((f) => host.exists(f));
    const strayFiles = host
        .list(loc.serverDir)
        .filter((name) => name.startsWith(PGPASS_PREFIX) || (name.startsWith(JOURNAL_TMP_PREFIX) && name.endsWith(".tmp")) || name === path.basename(p.incomingLog));
    if (traces.length === 0 && strayFiles.length === 0) {
        return { outcome: "none", actions }; // the common case: nothing was ever interrupted here
    }
    const journal = readJournal(loc, p.journal);
    if (journal !== undefined && journal !== "unreadable" && journal.copyId !== ownCopyId) {
        refuseLiveCopier(loc, journal);
    }
    const phase = journal === undefined ? undefined : journal === "unreadable" ? "copying" : journal.phase;

    if (journal === "unreadable") {
        act(`the journal ${p.journal} could not be read: treated as an unfinished copy`);
    }

    // Programs an interrupted copier left behind: a copy still streaming into pgdata.incoming (it would
    // write into a new copy's folder), or a pg_ctl still starting or stopping a server.
    await settleStrayPrograms(loc, [p.incoming, p.data, p.previous], act);

    let outcome: RecoveryReport["outcome"] = removeUnfinished(loc, p, act) ? "cleaned" : "none";
    // A pgdata holding this copy's completion mark is the complete, verified copy with the staging
    // server's identity: the swap had reached its commit point, so the copy is completed, never undone.
    const complete = completeCopyIn(loc, p.data, journal);
    if (host.exists(p.previous)) {
        outcome = settleSwap(loc, p, phase === "committed" ? "committed" : complete ? "complete" : "uncommitted", act);
    } else if (journal !== undefined && outcome === "none") {
        outcome = phase === "committed" || complete ? "completed" : "cleaned";
    }
    if (host.exists(path.join(p.data, COPY_COMPLETE_MARK))) {
        host.remove(path.join(p.data, COPY_COMPLETE_MARK));
    }
    if (journal !== undefined && journal !== "unreadable") {
        restoreRunningState(loc, journal.wasRunning, act);
    }
    for (const name of [...strayFiles, ...staleSocketFiles(loc)]) {
        host.remove(path.join(loc.serverDir, name));
    }
    if (journal !== undefined) {
        host.remove(p.journal);
        fsyncDir(loc, loc.serverDir);
        act("removed the copy journal");
    }
    return { outcome, actions };
}

/**
 * Refuses while the journal's copier may still be at work: alive on this machine, or begun from another
 * deploying machine, whose processes this one cannot see (undoing a copy still streaming would lose it).
 */
function refuseLiveCopier(loc: ClusterLocation, journal: CopyJournal): void {
    const where = loc.machine ? ` (on host ${loc.machine.name})` : "";
    if (journal.copier !== undefined && journal.copier !== os.hostname()) {
        throw new Error(
            `a copy from ${journal.source} onto ${loc.serverDir}${where} was begun by machine ${journal.copier} (process ${journal.pid}, since ${journal.startedAt}), ` +
                `whose processes this machine cannot see; finish it from there, or once that process is gone remove ${copyPathsOf(loc).journal} and run again`,
        );
    }
    if (localHost().isAlive({ pid: journal.pid, startTime: journal.pidStartTime })) {
        throw new Error(
            `a copy from ${journal.source} onto ${loc.serverDir}${where} is still running (process ${journal.pid}, since ${journal.startedAt}); ` +
                "wait for it to finish, or stop that process and run the recovery again",
        );
    }
}

/** The deploying machine, where every copier runs (the server may be on another host). */
function localHost() {
    return hostOf({ binDir: "" });
}

/** Removes an unfinished incoming copy (stopping a server on it) and a discarded one; true when there was any. */
function removeUnfinished(loc: ClusterLocation, p: ReturnType<typeof copyPathsOf>, act: (message: string) => void): boolean {
    const host = cluster.hostOfServer(loc);
    let removed = false;
    if (host.exists(p.incoming)) {
        if (stopServerOn(loc, p.incoming)) {
            act("stopped the server running on the incoming copy");
        }
        host.remove(p.incoming);
        act("removed the unfinished copy pgdata.incoming");
        removed = true;
    }
    if (host.exists(p.discarded)) {
        host.remove(p.discarded);
        act("removed pgdata.discarded");
        removed = true;
    }
    return removed;
}

/** With pgdata.previous still there: a copy past its commit point is completed, any other is rolled back. */
function settleSwap(loc: ClusterLocation, p: ReturnType<typeof copyPathsOf>, state: "committed" | "complete" | "uncommitted", act: (message: string) => void): RecoveryReport["outcome"] {
    const host = cluster.hostOfServer(loc);
    if (state !== "uncommitted") {
        host.remove(p.previous);
        act(`the copy had ${state === "committed" ? "committed" : "reached its commit point (pgdata is the complete copy)"}: removed the previous databases pgdata.previous`);
        return "completed";
    }
    if (host.exists(p.data)) {
        if (stopServerOn(loc, p.data)) {
            act("stopped the server running on the uncommitted copy");
        }
        host.rename(p.data, p.discarded);
    }
    host.rename(p.previous, p.data);
    fsyncDir(loc, loc.serverDir);
    act("put the previous databases back in place (pgdata.previous -> pgdata)");
    host.remove(p.discarded);
    return "rolled back";
}

/** The server runs again, or stays stopped, as it did before the copy. */
function restoreRunningState(loc: ClusterLocation, wasRunning: boolean, act: (message: string) => void): void {
    const status = cluster.clusterStatus(loc);
    if (status === "missing") {
        return;
    }
    if (wasRunning && status !== "running") {
        cluster.startCluster(loc);
        act("started the server again (it ran before the copy)");
    } else if (!wasRunning && status === "running") {
        cluster.stopCluster(loc);
        act("stopped the server (it was stopped before the copy)");
    }
}

/** Does `dataDir` hold the completion mark of the journal's copy (any copy's, when the journal is unreadable)? */
function completeCopyIn(loc: ClusterLocation, dataDir: string, journal: CopyJournal | "unreadable" | undefined): boolean {
    if (journal === undefined) {
        return false;
    }
    try {
        const mark = JSON.parse(cluster.hostOfServer(loc).readText(path.join(dataDir, COPY_COMPLETE_MARK))) as { copyId?: string };
        return journal === "unreadable" || mark.copyId === journal.copyId;
    } catch {
        return false;
    }
}
