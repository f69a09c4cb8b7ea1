// Where the local platform finds PostgreSQL and keeps its data. Pure file-system look-ups, no Pulumi.
import * as fs from "fs";
import * as path from "path";

/** Programs the local platform runs; all must be in one folder. */
export const POSTGRES_PROGRAMS = ["initdb", "pg_ctl", "postgres", "psql", "pg_basebackup"] as const;

/** Candidate folders, best first: the newest Debian-style /usr/lib/postgresql/N/bin, then PATH. */
function candidateBinDirs(env: NodeJS.ProcessEnv): string[] {
    const debianRoot = "/usr/lib/postgresql";
    const debian = fs.existsSync(debianRoot)
        ? fs
              .readdirSync(debianRoot)
              .filter((v) => /^\d+$/.test(v))
              .sort((a, b) => Number(b) - Number(a))
              .map((v) => path.join(debianRoot, v, "bin"))
        : [];
    return [...debian, ...(env.PATH ?? "").split(path.delimiter).filter(Boolean)];
}

/**
 * The folder holding the PostgreSQL programs: `configured` when given, else the first candidate that
 * has them all. Throws a message naming what to install and the setting that points at them.
 */
export function findPostgresBinDir(configured: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
    const missingIn = (dir: string) => POSTGRES_PROGRAMS.filter((p) => !isExecutable(path.join(dir, p)));
    if (configured !== undefined) {
        const missing = missingIn(configured);
        if (missing.length > 0) {
            throw new Error(
                `platform.binDir: ${JSON.stringify(configured)} lacks the PostgreSQL program${missing.length > 1 ? "s" : ""} ` +
                    `${missing.join(", ")} (point it at the folder holding initdb and pg_ctl, e.g. /usr/lib/postgresql/15/bin)`,
            );
        }
        return configured;
    }
    const found = candidateBinDirs(env).find((dir) => missingIn(dir).length === 0);
    if (found === undefined) {
        throw new Error(
            "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found in /usr/lib/postgresql/*/bin or on PATH. " +
                "Install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql-15), " +
                "or set platform.binDir to the folder holding them (pulumi config set --path platform.binDir <folder>).",
        );
    }
    return found;
}

function isExecutable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** The data root of a stack: `configured` (relative to the project folder), else `.stagewise/<stack>`. */
export function resolveDataRoot(configured: string | undefined, stack: string, projectDir: string = process.cwd()): string {
    return path.resolve(projectDir, configured ?? path.join(".stagewise", stack));
}

/**
 * OS user the servers run as. PostgreSQL refuses to run as root, so a root deployer hands the servers
 * to `configured` (default "postgres"); anyone else runs them as themselves.
 */
export function serverOsUser(configured: string | undefined, deployerUid: number = process.getuid?.() ?? -1): string | undefined {
    return deployerUid === 0 ? (configured ?? "postgres") : configured;
}
