// Processes already running on a copy's folders: the programs an interrupted copier left behind
// (pg_basebackup, pg_verifybackup, pg_ctl) and servers running on a data directory other than the
// staging server's own pgdata. Used by recovery.ts to undo a copy safely, and by copy.ts for the
// temporary server on the incoming copy.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { processStartTime } from "../postgres/liveness";

/**
 * Waits for pg_ctl processes working on `dirs` to end, and kills (SIGKILL, by PID) pg_basebackup and
 * pg_verifybackup processes working on them: only a dead copier can have left those.
 */
export async function settleStrayPrograms(loc: ClusterLocation, dirs: string[], act: (message: string) => void): Promise<void> {
    const strays = () => programsWorkingOn(dirs);
    const found = strays();
    for (const stray of found) {
        if (stray.program === "pg_ctl") {
            act(`waiting for ${stray.program} (process ${stray.pid}) to finish`);
        } else {
            act(`stopping ${stray.program} (process ${stray.pid}) left by an interrupted copy`);
            try {
                process.kill(stray.pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
    }
    const deadline = Date.now() + 150_000;
    while (found.length > 0 && strays().length > 0) {
        if (Date.now() > deadline) {
            const left = strays().map((s) => `${s.program} (process ${s.pid})`);
            throw new Error(`programs of an interrupted copy onto ${loc.serverDir} did not end: ${left.join(", ")}`);
        }
        await sleep(100);
    }
}

function programsWorkingOn(dirs: string[]): { pid: number; program: string }[] {
    const programs = ["pg_basebackup", "pg_verifybackup", "pg_ctl"];
    const found: { pid: number; program: string }[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        const pid = Number(entry);
        if (!/^\d+$/.test(entry) || pid === process.pid) {
            continue;
        }
        let argv: string[];
        try {
            argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        } catch {
            continue; // ended while we looked
        }
        const program = path.basename(argv[0] ?? "");
        if (programs.includes(program) && argv.some((a) => dirs.includes(a)) && processStartTime(pid) !== null) {
            found.push({ pid, program });
        }
    }
    return found;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether a server runs on data directory `dir`. */
function serverRunsOn(loc: ClusterLocation, dir: string): boolean {
    if (!fs.existsSync(path.join(dir, "postmaster.pid"))) {
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
