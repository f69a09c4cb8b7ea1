// Running pg_basebackup and pg_verifybackup for a copy: as the staging server's OS user when needed,
// with a clean environment, tied to this process's life (setpriv --pdeathsig) so a killed copier
// leaves no program writing behind it; and the PGPASSFILE (mode 0600) through which the source's
// password reaches them, never on a command line or in the environment.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import type { CopyRequest } from "./copyTypes";

export const PGPASS_PREFIX = ".copy-pgpass-";

/** A PGPASSFILE (mode 0600, owned by the server's OS user) for the source's superuser. */
export function writePgpass(loc: ClusterLocation, file: string, source: CopyRequest["source"]): void {
    const field = (value: string) => value.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
    fs.rmSync(file, { force: true });
    const fd = fs.openSync(file, "wx", 0o600);
    try {
        fs.writeSync(fd, `${field(source.host)}:${source.port}:*:${field(cluster.SUPERUSER)}:${field(source.superuserPassword)}\n`);
    } finally {
        fs.closeSync(fd);
    }
    cluster.chownToServerUser(loc, file);
}

function findSetpriv(): string | undefined {
    return ["/usr/bin/setpriv", "/bin/setpriv"].find((f) => fs.existsSync(f));
}

/**
 * The command that runs PostgreSQL program `program` as the server's OS user (when needed), tied to
 * this process's life through `setpriv --pdeathsig KILL` (where setpriv exists): it dies with us.
 */
export function tiedCommand(loc: ClusterLocation, program: string, args: string[], env: Record<string, string>): [string, string[]] {
    const file = path.join(loc.binDir, program);
    const setpriv = findSetpriv();
    if (cluster.asServerUser(loc)) {
        if (setpriv !== undefined) {
            const { uid, gid } = cluster.osUserIds(loc.osUser!);
            return [setpriv, ["--reuid", String(uid), "--regid", String(gid), "--init-groups", "--pdeathsig", "KILL", "--", file, ...args]];
        }
        return ["runuser", ["-u", loc.osUser!, "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), file, ...args]];
    }
    return setpriv !== undefined ? [setpriv, ["--pdeathsig", "KILL", "--", file, ...args]] : [file, args];
}

/**
 * Runs a PostgreSQL program (as the server's OS user when needed) without blocking, passing each
 * stderr line to `onLine`; resolves with its stdout. The environment is only PATH, LC_ALL and `env`
 * (no inherited PG* variables). Through `setpriv --pdeathsig KILL` the program dies with this process,
 * so a killed copier leaves no pg_basebackup writing behind it.
 */
export function runWatched(
    loc: ClusterLocation,
    program: string,
    args: string[],
    env: Record<string, string>,
    onLine: (line: string) => void = () => undefined,
): Promise<string> {
    const [cmd, argv] = tiedCommand(loc, program, args, env);
    return new Promise((resolve, reject) => {
        const child = childProcess.spawn(cmd, argv, {
            cwd: loc.serverDir,
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let partial = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
        });
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            stderr = (stderr + chunk).slice(-65_536);
            const lines = (partial + chunk).split(/[\r\n]/);
            partial = lines.pop() ?? "";
            lines.filter((l) => l.trim() !== "").forEach(onLine);
        });
        child.on("error", (err) => reject(new Error(`${program} could not be started: ${err.message}`)));
        child.on("close", (code, signal) => {
            if (partial.trim() !== "") {
                onLine(partial);
            }
            if (code === 0) {
                resolve(stdout);
                return;
            }
            const detail = `${stderr}${stdout}`.trim().split("\n").filter((l) => !/^\s*\d+\/\d+ kB/.test(l)).slice(-8).join("\n");
            reject(new Error(`${program} failed (${signal ? `signal ${signal}` : `exit ${code}`}):\n${detail}`));
        });
    });
}
