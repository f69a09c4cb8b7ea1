// The local platform: servers on this machine (its host is LocalHost), and where it finds PostgreSQL
// and keeps its data (file-system look-ups of the deploying machine itself). No Pulumi.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { LocalHost, osUserIds } from "./localHost";
import { SshHost } from "./sshHost";
import { Feature, Host, HostPlace, Platform, supportOn, Support } from "./platform";

export const localPlatform: Platform = {
    kind: "local",
    supports(feature: Feature): Support {
        return supportOn("local", feature);
    },
    host(place: HostPlace): Host {
        return new LocalHost(place);
    },
};

/** The host of a server's location: the other machine it names (over SSH), else this one. */
export function hostOf(place: HostPlace): Host {
    return place.machine !== undefined ? new SshHost({ ...place, machine: place.machine }) : localPlatform.host(place);
}

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

/** Where the default data roots go when the project folder is closed to the servers' OS user. */
export const SHARED_DATA_BASE = "/var/lib/stagewise";

/** The file that marks a claimed data root (the DataRoot provider's DATA_ROOT_MARKER; kept free of Pulumi here). */
const CLAIMED_MARKER = ".stagewise-data-root.json";

/**
 * The data root of a stack: `configured` (relative to the project folder), else `.stagewise/<stack>`
 * in the project. When the servers run as another OS user (`osUser`, a root deployer) and that user
 * cannot enter the project folder (a clone in root's 0700 home), the default moves to
 * `/var/lib/stagewise/<project folder name>-<hash of its path>/<stack>` instead: nobody's folder is
 * opened up, and the servers' own folders stay 0700. A default already claimed stays where it is.
 */
export function resolveDataRoot(configured: string | undefined, stack: string, projectDir: string = process.cwd(), osUser?: string): string {
    const inProject = path.resolve(projectDir, configured ?? path.join(".stagewise", stack));
    if (configured !== undefined || osUser === undefined) {
        return inProject;
    }
    const shared = sharedDataRoot(stack, projectDir);
    const claimed = (dir: string) => fs.existsSync(path.join(dir, CLAIMED_MARKER));
    if (claimed(inProject) || (!claimed(shared) && userCanEnter(osUser, inProject))) {
        return inProject;
    }
    return shared;
}

/** The shared default data root of the project in `projectDir` (see resolveDataRoot). */
export function sharedDataRoot(stack: string, projectDir: string): string {
    const absolute = path.resolve(projectDir);
    const id = crypto.createHash("sha256").update(absolute).digest("hex").slice(0, 10);
    return path.join(SHARED_DATA_BASE, `${path.basename(absolute) || "project"}-${id}`, stack);
}

/**
 * Can OS user `user` enter `dir`, judged by the mode bits of every folder on the way that exists
 * (a folder yet to be made is created open to it)? Unknown users cannot.
 */
export function userCanEnter(user: string, dir: string): boolean {
    const ids = userIds(user);
    if (ids === undefined) {
        return false;
    }
    if (ids.uid === 0) {
        return true;
    }
    let current = path.parse(path.resolve(dir)).root;
    for (const part of ["", ...path.resolve(dir).split(path.sep).filter(Boolean)]) {
        current = path.join(current, part);
        let stat: fs.Stats;
        try {
            stat = fs.statSync(current);
        } catch {
            return true; // made later by the deployer, open to the servers' user
        }
        const bit = stat.uid === ids.uid ? 0o100 : ids.gids.includes(stat.gid) ? 0o010 : 0o001;
        if ((stat.mode & bit) === 0) {
            return false;
        }
    }
    return true;
}

/** uid, primary and supplementary gids of `user` (cluster.osUserIds, plus /etc/group's memberships). */
function userIds(user: string): { uid: number; gids: number[] } | undefined {
    try {
        const { uid, gid } = osUserIds(user);
        const gids = [gid];
        for (const group of fs.readFileSync("/etc/group", "utf8").split("\n").map((l) => l.split(":"))) {
            if ((group[3] ?? "").split(",").includes(user) && /^\d+$/.test(group[2] ?? "")) {
                gids.push(Number(group[2]));
            }
        }
        return { uid, gids };
    } catch {
        return undefined;
    }
}

/**
 * OS user the servers run as. PostgreSQL refuses to run as root, so a root deployer hands the servers
 * to `configured` (default "postgres"); anyone else runs them as themselves.
 */
export function serverOsUser(configured: string | undefined, deployerUid: number = process.getuid?.() ?? -1): string | undefined {
    return deployerUid === 0 ? (configured ?? "postgres") : configured;
}
