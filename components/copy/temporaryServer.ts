// The copy's temporary server: PostgreSQL on the incoming copy (pgdata.incoming), on a port of its own,
// as a child of the copying process tied to its life (setpriv --pdeathsig KILL), never detached as
// pg_ctl would make it: a copier killed at any moment takes its temporary server with it, so no
// server on an unfinished copy (still holding production's identity rows) outlives it.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import type { ClusterLocation } from "../postgres/cluster";
import { tiedCommand } from "./programs";

export interface TemporaryServer {
    /** Fast shutdown (SIGINT), waited for; SIGKILL after `timeoutMs`. Idempotent. */
    stop(timeoutMs?: number): Promise<void>;
}

/** postmaster.pid's eighth line says "ready" once the server accepts connections. */
function postmasterStatus(dataDir: string): string | undefined {
    try {
        return fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[7]?.trim();
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
    const [cmd, argv] = tiedCommand(loc, "postgres", ["-D", dataDir], {});
    const log = fs.openSync(logFile, "a", 0o600);
    let child: childProcess.ChildProcess;
    try {
        child = childProcess.spawn(cmd, argv, { cwd: loc.serverDir, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" }, stdio: ["ignore", log, log] });
    } finally {
        fs.closeSync(log);
    }
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
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
    const deadline = Date.now() + timeoutMs;
    while (postmasterStatus(dataDir) !== "ready") {
        if (gone || Date.now() > deadline) {
            await stop(5_000);
            throw new Error(`the temporary server on ${dataDir} ${gone ? "exited" : "did not get ready"} (log: ${logFile})`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { stop };
}
