// Running pg_basebackup and pg_verifybackup for a copy: as the staging server's OS user when needed,
// with a clean environment, tied to this process's life (setpriv --pdeathsig) so a killed copier
// leaves no program writing behind it; and the PGPASSFILE (mode 0600) through which the source's
// password reaches them, never on a command line or in the environment.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { pgpassLine } from "../postgres/baseBackup";
import { tiedCommand as localTiedCommand } from "../platform/localHost";
import type { CopyRequest } from "./copyTypes";

export const PGPASS_PREFIX = ".copy-pgpass-";

/** A PGPASSFILE (mode 0600, owned by the server's OS user) for the source's superuser. */
export function writePgpass(loc: ClusterLocation, file: string, source: CopyRequest["source"]): void {
    cluster.hostOfServer(loc).writeFile(file, pgpassLine(source), { mode: 0o600 });
}

/**
 * The command that runs PostgreSQL program `program` as the server's OS user (when needed), tied to
 * this process's life through `setpriv --pdeathsig KILL` (where setpriv exists): it dies with us.
 */
export function tiedCommand(loc: ClusterLocation, program: string, args: string[], env: Record<string, string>): [string, string[]] {
    return localTiedCommand(loc, program, args, env);
}

/**
 * Runs a PostgreSQL program (as the server's OS user when needed) without blocking, passing each
 * stderr line to `onLine`; resolves with its stdout. The environment is only PATH, LC_ALL and `env`
 * (no inherited PG* variables). The program dies with this process, so a killed copier leaves no
 * pg_basebackup writing behind it.
 */
export function runWatched(
    loc: ClusterLocation,
    program: string,
    args: string[],
    env: Record<string, string>,
    onLine: (line: string) => void = () => undefined,
): Promise<string> {
    return cluster.hostOfServer(loc).watch(program, args, { cwd: loc.serverDir, env, onLine });
}
