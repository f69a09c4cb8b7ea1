// Clusters made ahead of their server's create. Between the moment the program knows that a server is
// about to be created and the moment the engine calls the provider's create lies about a second of
// engine start-up (language host, provider process, closure serialization). During an `up` the program
// starts initdb for such a server at once, into a folder of the data root; the provider's create adopts
// the finished cluster instead of running initdb itself, and gives it the real superuser password.
//
// Preparing only ever saves time: whatever goes wrong, the create runs initdb as it always did. A
// prepared folder moves through its states by atomic renames, so exactly one process owns it at a time:
//   <id>.preparing  initdb running (the preparer's PID and start time are in preparer.json)
//   <id>.ready      initdb finished; the first create that renames it to <id>.claimed-<pid> owns it
//   <id>.discard    being removed
// Folders of a preparer that has ended are removed by the next one, by DataRoot's delete, or by the
// provider that looks for a cluster to adopt.
// Plain Node (no Pulumi), so the program, the provider and tests share it.
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as path from "path";
import { ClusterLocation, dataDirOf, hostOfServer, initdbArgs, programCommand } from "../postgres/cluster";
import { processStartTime } from "../postgres/liveness";
import { hostOf } from "../platform/local";
import { waitUntil, waitUntilSync } from "../postgres/poll";

/** Folder of the data root that holds prepared clusters. */
export const PREPARED_DIR = ".stagewise-prepared";

/** How long a create waits for a prepared cluster whose initdb is still running before running its own. */
const WAIT_LIMIT_MS = 120_000;

/** What a prepared folder records about who made it, and for which server. */
interface Preparer {
    server: string;
    binDir: string;
    osUser?: string;
    pid: number;
    pidStartTime: string | null;
}

export interface PrepareSpec {
    /** The stage's data root; the server's folder will be `<dataRoot>/<server>`. */
    dataRoot: string;
    /** Owner written in the data root's marker (`<project>/<stack>`). */
    owner: string;
    /** Name of the marker file that claims a data root for a stack (DataRoot's). */
    dataRootMarker: string;
    server: string;
    binDir: string;
    osUser?: string;
}

function preparedRootOf(dataRoot: string): string {
    return path.join(dataRoot, PREPARED_DIR);
}

/** The data directory initdb makes in a prepared folder (laid out as a server's folder). */
function preparedDataDir(folder: string): string {
    return dataDirOf({ serverDir: folder });
}

function readPreparer(dir: string): Preparer | undefined {
    try {
        return JSON.parse(filesHost().readText(path.join(dir, "preparer.json"))) as Preparer;
    } catch {
        return undefined;
    }
}

/** Renames `from` to `to`; false when another process renamed or removed it first. */
function takeOver(from: string, to: string): boolean {
    try {
        filesHost().rename(from, to);
        return true;
    } catch {
        return false;
    }
}

/** Removes a folder this process owns (renamed to `.discard` first, so nobody adopts it meanwhile). */
function discard(dir: string): void {
    const doomed = dir.endsWith(".discard") ? dir : `${dir.replace(/\.(preparing|ready|claimed-\d+)$/, "")}.discard`;
    if (dir === doomed || takeOver(dir, doomed)) {
        try {
            filesHost().remove(doomed);
        } catch {
            // another sweep is removing it too
        }
    }
}

/**
 * Removes prepared folders whose preparer (or claimer) has ended, and those being discarded. With
 * `everything`, removes all of them (DataRoot's delete: nothing there is needed any more).
 */
export function sweepPrepared(dataRoot: string, everything = false): void {
    const root = preparedRootOf(dataRoot);
    let entries: string[];
    try {
        entries = filesHost().list(root);
    } catch {
        return;
    }
    for (const entry of entries) {
        const dir = path.join(root, entry);
        const claimer = /\.claimed-(\d+)$/.exec(entry);
        const preparer = readPreparer(dir);
        const alive = claimer
            ? filesHost().isAlive({ pid: Number(claimer[1]), startTime: null })
            : preparer !== undefined && filesHost().isAlive({ pid: preparer.pid, startTime: preparer.pidStartTime });
        if (everything || entry.endsWith(".discard") || !alive) {
            discard(dir);
        }
    }
    filesHost().removeIfEmpty(root); // not while something is still being prepared
}

/** Whether the program may write into `dataRoot`: missing, empty, or claimed by this stack (never someone else's folder). */
function dataRootIsOurs(spec: PrepareSpec): boolean {
    const host = filesHost();
    if (!host.exists(spec.dataRoot)) {
        return true;
    }
    const marker = path.join(spec.dataRoot, spec.dataRootMarker);
    if (host.exists(marker)) {
        try {
            return (JSON.parse(host.readText(marker)) as { owner?: string }).owner === spec.owner;
        } catch {
            return false;
        }
    }
    return host.list(spec.dataRoot).every((entry) => entry === PREPARED_DIR);
}

/** The clusters this process is preparing (folder name without state, and its initdb), removed at exit unless a create adopted them. */
const ownFolders = new Map<string, childProcess.ChildProcess>();
/** Data roots this process made itself: removed at exit when still empty (no DataRoot claimed them). */
const madeDataRoots = new Set<string>();
let exitHookInstalled = false;

/** The host of the prepared folders, where only files are touched: this machine. */
const filesHost = () => hostOf({ binDir: "" });

/** Stops an initdb still running (runuser passes SIGTERM on, initdb then removes what it wrote) and waits for it, at most 5 s. */
function stopAndWait(pid: number): void {
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return; // already gone
    }
    // An exit handler cannot wait asynchronously; an ended child stays a zombie, which processStartTime reports as gone.
    try {
        waitUntilSync(() => processStartTime(pid) === null, { timeoutMs: 5_000, intervalMs: 20 });
    } catch {
        // still there after 5 s: the exit goes on
    }
}

function discardOwnAtExit(): void {
    for (const [base, initdb] of ownFolders) {
        if (initdb.exitCode === null && initdb.pid !== undefined) {
            stopAndWait(initdb.pid);
        }
        for (const state of [".preparing", ".ready"]) {
            if (filesHost().exists(base + state)) {
                discard(base + state);
            }
        }
        sweepPrepared(path.dirname(path.dirname(base)));
    }
    for (const dataRoot of madeDataRoots) {
        filesHost().removeIfEmpty(dataRoot); // not when claimed by its DataRoot, or still holding a cluster being removed
    }
}

/**
 * Starts initdb, in the background, for a server about to be created. Returns false (and changes
 * nothing) when it should not: the server's folder exists, or the data root is not this stack's.
 */
export function prepareCluster(spec: PrepareSpec): boolean {
    if (filesHost().exists(path.join(spec.dataRoot, spec.server)) || !dataRootIsOurs(spec)) {
        return false;
    }
    const loc: ClusterLocation = { binDir: spec.binDir, serverDir: spec.dataRoot, host: "", port: 0, osUser: spec.osUser };
    sweepPrepared(spec.dataRoot);
    const root = preparedRootOf(spec.dataRoot);
    const base = path.join(root, `${spec.server}-${crypto.randomBytes(6).toString("hex")}`);
    const dir = `${base}.preparing`;
    const host = hostOfServer(loc);
    try {
        if (!host.exists(spec.dataRoot)) {
            host.makeFolder(spec.dataRoot, { mode: 0o755 });
            madeDataRoots.add(spec.dataRoot);
        }
        host.makeFolder(root);
        host.makeFolder(dir);
        const preparer: Preparer = { server: spec.server, binDir: spec.binDir, osUser: spec.osUser, pid: process.pid, pidStartTime: processStartTime(process.pid) };
        host.writeFile(path.join(dir, "preparer.json"), JSON.stringify(preparer) + "\n", { mode: 0o600, owned: false });
        const pwfile = path.join(dir, "password");
        host.writeFile(pwfile, crypto.randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
        const [cmd, argv] = programCommand(loc, "initdb", initdbArgs(preparedDataDir(dir), pwfile));
        const child = childProcess.spawn(cmd, argv, { cwd: dir, stdio: "ignore" });
        ownFolders.set(base, child);
        if (!exitHookInstalled) {
            process.on("exit", discardOwnAtExit);
            exitHookInstalled = true;
        }
        child.on("error", () => discard(dir));
        child.on("exit", (code) => (code === 0 ? takeOver(dir, `${base}.ready`) : discard(dir)));
        child.unref(); // the program's end does not wait for it; discardOwnAtExit cleans up
        return true;
    } catch {
        discard(dir);
        return false;
    }
}

export interface PreparedCluster {
    /** Its data directory (stopped, as initdb left it). Move it into place, then remove `folder`. */
    dataDir: string;
    /** The superuser password initdb set: replace it once the server runs. */
    password: string;
    /** The claimed folder, to remove once `dataDir` has moved. */
    folder: string;
}

/**
 * Adopts a cluster prepared for `loc`'s server (same server name, programs and OS user), waiting for
 * one whose initdb still runs. Undefined when there is none: the caller runs initdb itself.
 */
export async function claimPrepared(loc: ClusterLocation, server: string): Promise<PreparedCluster | undefined> {
    const dataRoot = path.dirname(loc.serverDir);
    const root = preparedRootOf(dataRoot);
    // Each look: a claimed cluster, "gone" (no prepared folder: nothing to sweep), "none" (nothing being prepared), or undefined (wait).
    const look = (): PreparedCluster | "gone" | "none" | undefined => {
        let entries: string[];
        try {
            if (!filesHost().exists(root)) {
                return "gone";
            }
            entries = filesHost().list(root);
        } catch {
            return "gone";
        }
        // Only a live preparer's: the program of this very `up` (a dead one's folder is swept, never adopted).
        const candidates = entries
            .map((entry) => ({ entry, preparer: readPreparer(path.join(root, entry)) }))
            .filter(({ preparer: p }) => p !== undefined && p.server === server && p.binDir === loc.binDir && p.osUser === loc.osUser && filesHost().isAlive({ pid: p.pid, startTime: p.pidStartTime }));
        for (const { entry } of candidates.filter(({ entry }) => entry.endsWith(".ready"))) {
            const claimed = path.join(root, entry.replace(/\.ready$/, `.claimed-${process.pid}`));
            if (takeOver(path.join(root, entry), claimed)) {
                const password = filesHost().readText(path.join(claimed, "password")).trim();
                return { dataDir: preparedDataDir(claimed), password, folder: claimed };
            }
        }
        return candidates.some(({ entry }) => entry.endsWith(".preparing")) ? undefined : "none";
    };
    const found = await waitUntil(look, { timeoutMs: WAIT_LIMIT_MS, intervalMs: 20 }).catch(() => "none" as const);
    if (found === "none") {
        sweepPrepared(dataRoot);
    }
    return typeof found === "string" ? undefined : found;
}

/** Removes an adopted cluster's folder once its data directory has moved into place. */
export function releaseClaimed(prepared: PreparedCluster): void {
    discard(prepared.folder);
    sweepPrepared(path.dirname(path.dirname(prepared.folder)));
}
