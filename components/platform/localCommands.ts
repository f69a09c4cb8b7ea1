// How the local machine runs a program as the servers' OS user: runuser, or setpriv (which also ties
// the program to the deployer's life), and the user's numeric ids. Plain Node, no Pulumi.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { HostPlace } from "./platform";

/** The numeric user and group ids of OS user `user`. */
export function osUserIds(user: string): { uid: number; gid: number } {
    // /etc/passwd first: no process to start (this runs for every file handed over); `id` for users it lacks (NSS, LDAP).
    try {
        const entry = fs.readFileSync("/etc/passwd", "utf8").split("\n").find((line) => line.split(":")[0] === user);
        const fields = entry?.split(":");
        if (fields !== undefined && /^\d+$/.test(fields[2] ?? "") && /^\d+$/.test(fields[3] ?? "")) {
            return { uid: Number(fields[2]), gid: Number(fields[3]) };
        }
    } catch {
        // unreadable: ask `id`
    }
    const out = childProcess.execFileSync("id", [user], { encoding: "utf8" });
    const uid = /uid=(\d+)/.exec(out)?.[1];
    const gid = /gid=(\d+)/.exec(out)?.[1];
    if (uid === undefined || gid === undefined) {
        throw new Error(`cannot find the OS user ${user}`);
    }
    return { uid: Number(uid), gid: Number(gid) };
}

/** Whether programs must run as another OS user (the deployer is root, the servers are not). */
export function runsAsOtherUser(place: Pick<HostPlace, "osUser">): boolean {
    return place.osUser !== undefined && os.userInfo().username !== place.osUser;
}

/** The command and arguments that run a PostgreSQL program as the servers' OS user when needed. */
export function programCommand(place: HostPlace, program: string, args: readonly string[]): [string, string[]] {
    const file = path.join(place.binDir, program);
    return runsAsOtherUser(place) ? ["runuser", ["-u", place.osUser!, "--", file, ...args]] : [file, [...args]];
}

function findSetpriv(): string | undefined {
    return ["/usr/bin/setpriv", "/bin/setpriv"].find((f) => fs.existsSync(f));
}

/**
 * The command that runs PostgreSQL program `program` as the servers' OS user (when needed), tied to
 * this process's life through `setpriv --pdeathsig KILL` (where setpriv exists): it dies with us.
 */
export function tiedCommand(place: HostPlace, program: string, args: readonly string[], env: Record<string, string>): [string, string[]] {
    const file = path.join(place.binDir, program);
    const setpriv = findSetpriv();
    if (runsAsOtherUser(place)) {
        if (setpriv !== undefined) {
            const { uid, gid } = osUserIds(place.osUser!);
            return [setpriv, ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--pdeathsig", "KILL", "--", file, ...args]];
        }
        return ["runuser", ["-u", place.osUser!, "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), file, ...args]];
    }
    return setpriv !== undefined ? [setpriv, ["--pdeathsig", "KILL", "--", file, ...args]] : [file, [...args]];
}
