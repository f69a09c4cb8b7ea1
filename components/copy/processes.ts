// Processes already running on a copy's folders: the programs an interrupted copier left behind
// (pg_basebackup, pg_verifybackup, pg_ctl) and servers running on a data directory other than the
// staging server's own pgdata. Used by recovery.ts to undo a copy safely, and by copy.ts for the
// temporary server on the incoming copy.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { waitUntil } from "../postgres/poll";

/**
 * Waits for pg_ctl processes working on `dirs` to end, and kills (SIGKILL, by PID) pg_basebackup and
 * pg_verifybackup processes working on them: only a dead copier can have left those.
 */
export async function settleStrayPrograms(loc: ClusterLocation, dirs: string[], act: (message: string) => void): Promise<void> {
    const host = cluster.hostOfServer(loc);
    const strays = () => programsWorkingOn(loc, dirs);
    const found = strays();
    for (const stray of found) {
        if (stray.program === "pg_ctl") {
            act(`waiting for ${stray.program} (process ${stray.pid}) to finish`);
        } else {
            act(`stopping ${stray.program} (process ${stray.pid}) left by an interrupted copy`);
            try {
                host.signal(stray.pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
    }
    if (found.length > 0) {
        await waitUntil(() => strays().length === 0, {
            timeoutMs: 150_000,
            intervalMs: 100,
            failure: () => `programs of an interrupted copy onto ${loc.serverDir} did not end: ${strays().map((s) => `${s.program} (process ${s.pid})`).join(", ")}`,
        });
    }
}

function programsWorkingOn(loc: ClusterLocation, dirs: string[]): { pid: number; program: string }[] {
    const programs = ["pg_basebackup", "pg_verifybackup", "pg_ctl"];
    const host = cluster.hostOfServer(loc);
    return host
        .processes()
        .map(({ pid, argv }) => ({ pid, argv, program: path.basename(argv[0] ?? "") }))
        .filter(({ pid, argv, program }) => programs.includes(program) && argv.some((a) => dirs.includes(a)) && host.isAlive({ pid, startTime: null }))
        .map(({ pid, program }) => ({ pid, program }));
}

/** Whether a server runs on data directory `dir`. */
function serverRunsOn(loc: ClusterLocation, dir: string): boolean {
    if (!cluster.hostOfServer(loc).exists(path.join(dir, "postmaster.pid"))) {
        return false;
    }
    try {
        cluster.runProgram(loc, "pg_ctl", ["status", "--pgdata", dir]);
        return true;
    } catch (err) {
        const code = (err as { exitCode?: number }).exitCode;
        if (code === 3 || code === 4) {
            return false;
        }
        throw err;
    }
}

/** Stops the server running on data directory `dir`, if any (fast, else immediate); true when one ran. */
export function stopServerOn(loc: ClusterLocation, dir: string): boolean {
    if (!serverRunsOn(loc, dir)) {
        return false;
    }
    try {
        cluster.runProgram(loc, "pg_ctl", ["stop", "--pgdata", dir, "--mode", "fast", "--wait", "--timeout", "120", "--silent"]);
    } catch (err) {
        // A server killed a moment ago (a temporary server gone with its copier) may end between the look and the stop.
        if (!serverRunsOn(loc, dir)) {
            return true;
        }
        try {
            cluster.runProgram(loc, "pg_ctl", ["stop", "--pgdata", dir, "--mode", "immediate", "--wait", "--timeout", "60", "--silent"]);
        } catch {
            if (serverRunsOn(loc, dir)) {
                throw err;
            }
        }
    }
    return true;
}

/**
 * The socket and lock files a killed temporary server left in the server folder (its socket directory):
 * those of another port than the server's own whose postmaster is gone. A live one's are kept.
 */
export function staleSocketFiles(loc: ClusterLocation): string[] {
    const host = cluster.hostOfServer(loc);
    const names = host.list(loc.serverDir);
    return names.flatMap((name) => {
        const port = /^\.s\.PGSQL\.(\d+)\.lock$/.exec(name)?.[1];
        if (port === undefined || Number(port) === loc.port) {
            return [];
        }
        let pid: number;
        try {
            pid = Number(host.readText(path.join(loc.serverDir, name)).split("\n")[0]);
        } catch {
            return [];
        }
        if (!Number.isInteger(pid) || pid <= 0 || host.isAlive({ pid, startTime: null })) {
            return [];
        }
        const socket = name.slice(0, -".lock".length);
        return names.includes(socket) ? [name, socket] : [name];
    });
}
