// The journal of a copy (`<serverDir>/copy-journal.json`) and the folders a copy uses in the server
// folder (pgdata, pgdata.incoming, pgdata.previous, ...). The journal records the phase of the swap so
// that recovery.ts knows, after an interruption, whether to put the previous databases back. Every
// write is whole (temporary file, rename or link) and fsynced, directory included.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";

/** copying: pgdata untouched; swapping: the swap has begun (pgdata may be moved aside, or already the
 * complete copy: see COPY_COMPLETE_MARK); committed: the copy is in place. ("swapped" is an older
 * version's phase, read as swapping.) */
export type CopyPhase = "copying" | "swapping" | "swapped" | "committed";

/** In a copy's data directory once it is verified and carries the staging server's identity: a pgdata
 * holding it (with this copy's id) is the complete copy, which recovery completes and never undoes. */
export const COPY_COMPLETE_MARK = "stagewise-copy-complete.json";

/** The journal of a copy, `<serverDir>/copy-journal.json`, always written whole (temporary file, rename). */
export interface CopyJournal {
    phase: CopyPhase;
    /** Whether the staging server ran when the copy began: recovery leaves it that way. */
    wasRunning: boolean;
    copyId: string;
    /** The copying process, so recovery never undoes a copy that is still running. */
    pid: number;
    pidStartTime: string | null;
    /** The machine the copying process runs on (the deployer's name; absent in older journals: this machine). */
    copier?: string;
    source: string;
    startedAt: string;
}

export const COPY_JOURNAL = "copy-journal.json";

/** The folders and files of a copy inside the target's server folder. */
export function copyPathsOf(loc: ClusterLocation): {
    data: string;
    incoming: string;
    previous: string;
    discarded: string;
    journal: string;
    incomingLog: string;
} {
    return {
        data: cluster.dataDirOf(loc),
        incoming: path.join(loc.serverDir, "pgdata.incoming"),
        previous: path.join(loc.serverDir, "pgdata.previous"),
        discarded: path.join(loc.serverDir, "pgdata.discarded"),
        journal: path.join(loc.serverDir, COPY_JOURNAL),
        incomingLog: path.join(loc.serverDir, "copy-incoming.log"),
    };
}

export const JOURNAL_TMP_PREFIX = `${COPY_JOURNAL}.`;

export function readJournal(loc: ClusterLocation, file: string): CopyJournal | "unreadable" | undefined {
    let text: string;
    try {
        text = cluster.hostOfServer(loc).readText(file);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
            return undefined;
        }
        return "unreadable";
    }
    try {
        const journal = JSON.parse(text) as CopyJournal;
        return ["copying", "swapping", "swapped", "committed"].includes(journal.phase) ? journal : "unreadable";
    } catch {
        return "unreadable";
    }
}

/** Writes the journal whole. `exclusive`: fails when a journal exists (another copy began meanwhile). */
export function writeJournal(loc: ClusterLocation, journal: CopyJournal, exclusive: boolean): void {
    const file = copyPathsOf(loc).journal;
    try {
        cluster.hostOfServer(loc).writeFile(file, JSON.stringify(journal, null, 2) + "\n", { mode: 0o600, durable: true, exclusive });
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "EEXIST") {
            throw new Error(`another copy onto ${loc.serverDir} began at the same time (${file} exists)`);
        }
        throw err;
    }
}

export function fsyncDir(loc: ClusterLocation, dir: string): void {
    cluster.hostOfServer(loc).syncFolder(dir);
}
