// The copy's temporary server: PostgreSQL on the incoming copy (pgdata.incoming), on a port of its own,
// as a child of the copying process tied to its life (setpriv --pdeathsig KILL), never detached as
// pg_ctl would make it: a copier killed at any moment takes its temporary server with it, so no
// server on an unfinished copy (still holding production's identity rows) outlives it.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { waitUntil } from "../postgres/poll";

export interface TemporaryServer {
    /** Fast shutdown (SIGINT), waited for; SIGKILL after `timeoutMs`. Idempotent. */
    stop(timeoutMs?: number): Promise<void>;
}

/** postmaster.pid's eighth line says "ready" once the server accepts connections. */
function postmasterStatus(loc: ClusterLocation, dataDir: string): string | undefined {
    try {
        return cluster.hostOfServer(loc).readText(path.join(dataDir, "postmaster.pid")).split("\n")[7]?.trim();
    } catch {
        return undefined;
    }
}

/**
 * Starts `postgres -D dataDir` (its own settings file names the port) with its log in `logFile`, and
 * waits until it accepts connections. Throws, with the log's last lines, when it exits first or does
 * not get ready within `timeoutMs`.
 */
export async function startTemporaryServer(loc: ClusterLocation, dataDir: string, logFile: string, timeoutMs = 120_000): Promise<TemporaryServer> {
    const child = cluster.hostOfServer(loc).startTied("postgres", ["-D", dataDir], { cwd: loc.serverDir, logFile });
    const exited = child.exited;
    let gone = false;
    void exited.then(() => (gone = true));
    const stop = async (stopTimeoutMs = 60_000): Promise<void> => {
        if (gone) {
            return;
        }
        child.kill("SIGINT");
        const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
        await exited;
        clearTimeout(timer);
    };
    try {
        await waitUntil(() => postmasterStatus(loc, dataDir) === "ready", {
            timeoutMs,
            intervalMs: 50,
            stopWhen: () => gone,
            failure: () => `the temporary server on ${dataDir} ${gone ? "exited" : "did not get ready"} (log: ${logFile})`,
        });
    } catch (err) {
        await stop(5_000);
        throw err;
    }
    return { stop };
}
