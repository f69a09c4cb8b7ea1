// Recovery after an interrupted copy (kill -9 included): reads the journal and puts the previous
// databases back, or finishes a committed copy's clean-up, then leaves the server running or stopped as
// it was before the copy. copy.ts runs it before each copy and to roll back a failed one.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { copyPathsOf, COPY_COMPLETE_MARK, fsyncDir, readJournal, JOURNAL_TMP_PREFIX } from "./journal";
import type { CopyJournal } from "./journal";
import { processAlive } from "../postgres/liveness";
import { settleStrayPrograms, stopServerOn } from "./processes";
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
    const actions: string[] = [];
    const act = (message: string) => {
        actions.push(message);
        log(`recovery: ${message}`);
    };
    if (!fs.existsSync(loc.serverDir)) {
        return { outcome: "none", actions };
    }
    const traces = [p.journal, p.incoming, p.previous, p.discarded, path.join(p.data, COPY_COMPLETE_MARK)].filter((f) => fs.existsSync(f));
    const strayFiles = fs
        .readdirSync(loc.serverDir)
        .filter((name) => name.startsWith(PGPASS_PREFIX) || (name.startsWith(JOURNAL_TMP_PREFIX) && name.endsWith(".tmp")));
    if (traces.length === 0 && strayFiles.length === 0) {
        return { outcome: "none", actions }; // the common case: nothing was ever interrupted here
    }
    const journal = readJournal(p.journal);
    if (journal !== undefined && journal !== "unreadable" && journal.copyId !== ownCopyId && processAlive(journal.pid, journal.pidStartTime)) {
        throw new Error(
            `a copy from ${journal.source} onto ${loc.serverDir} is still running (process ${journal.pid}, since ${journal.startedAt}); ` +
                "wait for it to finish, or stop that process and run the recovery again",
        );
    }
    const phase = journal === undefined ? undefined : journal === "unreadable" ? "copying" : journal.phase;
    if (journal === "unreadable") {
        act(`the journal ${p.journal} could not be read: treated as an unfinished copy`);
    }

    // Programs an interrupted copier left behind: a copy still streaming into pgdata.incoming (it would
    // write into a new copy's folder), or a pg_ctl still starting or stopping a server.
    await settleStrayPrograms(loc, [p.incoming, p.data, p.previous], act);

    let outcome: RecoveryReport["outcome"] = "none";
    if (fs.existsSync(p.incoming)) {
        if (stopServerOn(loc, p.incoming)) {
            act("stopped the server running on the incoming copy");
        }
        fs.rmSync(p.incoming, { recursive: true, force: true });
        act("removed the unfinished copy pgdata.incoming");
        outcome = "cleaned";
    }
    if (fs.existsSync(p.discarded)) {
        fs.rmSync(p.discarded, { recursive: true, force: true });
        act("removed pgdata.discarded");
        outcome = "cleaned";
    }
    // A pgdata holding this copy's completion mark is the complete, verified copy with the staging
    // server's identity: the swap had reached its commit point, so the copy is completed, never undone.
    const complete = completeCopyIn(p.data, journal);
    if (fs.existsSync(p.previous)) {
        if (phase === "committed" || complete) {
            fs.rmSync(p.previous, { recursive: true, force: true });
            act(`the copy had ${phase === "committed" ? "committed" : "reached its commit point (pgdata is the complete copy)"}: removed the previous databases pgdata.previous`);
            outcome = "completed";
        } else {
            if (fs.existsSync(p.data)) {
                if (stopServerOn(loc, p.data)) {
                    act("stopped the server running on the uncommitted copy");
                }
                fs.renameSync(p.data, p.discarded);
            }
            fs.renameSync(p.previous, p.data);
            fsyncDir(loc.serverDir);
            act("put the previous databases back in place (pgdata.previous -> pgdata)");
            fs.rmSync(p.discarded, { recursive: true, force: true });
            outcome = "rolled back";
        }
    } else if (journal !== undefined && outcome === "none") {
        outcome = phase === "committed" || complete ? "completed" : "cleaned";
    }
    if (fs.existsSync(path.join(p.data, COPY_COMPLETE_MARK))) {
        fs.rmSync(path.join(p.data, COPY_COMPLETE_MARK), { force: true });
    }
    if (journal !== undefined && journal !== "unreadable" && cluster.clusterStatus(loc) !== "missing") {
        const running = cluster.clusterStatus(loc) === "running";
        if (journal.wasRunning && !running) {
            cluster.startCluster(loc);
            act("started the server again (it ran before the copy)");
        } else if (!journal.wasRunning && running) {
            cluster.stopCluster(loc);
            act("stopped the server (it was stopped before the copy)");
        }
    }
    for (const name of strayFiles) {
        fs.rmSync(path.join(loc.serverDir, name), { force: true });
    }
    if (journal !== undefined) {
        fs.rmSync(p.journal, { force: true });
        fsyncDir(loc.serverDir);
        act("removed the copy journal");
    }
    return { outcome, actions };
}

/** Does `dataDir` hold the completion mark of the journal's copy (any copy's, when the journal is unreadable)? */
function completeCopyIn(dataDir: string, journal: CopyJournal | "unreadable" | undefined): boolean {
    if (journal === undefined) {
        return false;
    }
    try {
        const mark = JSON.parse(fs.readFileSync(path.join(dataDir, COPY_COMPLETE_MARK), "utf8")) as { copyId?: string };
        return journal === "unreadable" || mark.copyId === journal.copyId;
    } catch {
        return false;
    }
}
