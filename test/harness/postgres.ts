// Real PostgreSQL clusters for integration tests: their own folders and free loopback ports, run as
// an unprivileged OS user when the tests run as root, and always stopped and removed afterwards.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Bootstrap, ClusterLocation, chownToServerUser, initCluster, startCluster, stopCluster, writeSettings } from "../../components/postgres/cluster";
import { DATABASE_ROLES, EngineTables, referenceSchemaSql } from "../../components/engine/referenceSchema";
import { findPostgresBinDir, serverOsUser } from "../../components/platform/local";
import { withClient } from "../../components/postgres/pg";
import { freePort } from "./engine";

/** A folder the servers' OS user can reach (mkdtemp makes 0700 folders). */
export function tempDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    fs.chmodSync(dir, 0o755);
    return dir;
}

/** Where a fresh cluster would live: a new folder owned by the servers' user, and a free port. */
export async function clusterLocation(root: string, name = "db"): Promise<ClusterLocation> {
    const loc: ClusterLocation = {
        binDir: findPostgresBinDir(undefined),
        serverDir: path.join(root, name),
        host: "127.0.0.1",
        port: await freePort(),
        osUser: serverOsUser(undefined),
    };
    fs.mkdirSync(loc.serverDir, { mode: 0o700 });
    chownToServerUser(loc, loc.serverDir);
    return loc;
}

/** initdb with `superuserPassword`, the given settings, then start: a running cluster at `loc`. */
export function runCluster(loc: ClusterLocation, superuserPassword: string, settings: Record<string, string> = {}): void {
    initCluster(loc, superuserPassword);
    writeSettings(loc, settings);
    startCluster(loc);
}

/** A new cluster folder under `root` (see clusterLocation), initialised, configured and started. */
export async function startedCluster(root: string, superuserPassword: string, settings: Record<string, string> = {}, name = "db"): Promise<ClusterLocation> {
    const loc = await clusterLocation(root, name);
    runCluster(loc, superuserPassword, settings);
    return loc;
}

/** The engine's identity tables, as the reference schema names them. */
export const ENGINE_TABLES: EngineTables = { server: { schema: "Server", table: "Server" }, licenseKey: { schema: "HostServer", table: "LicenseKey" } };

/** What bootstrap makes for the engine: its three databases with the reference schema, owned by role engine. */
export function engineBootstrap(ownerPassword: string, tables: EngineTables = ENGINE_TABLES): Bootstrap {
    return {
        ownerRole: "engine",
        ownerPassword,
        databases: DATABASE_ROLES.map((role) => ({ name: role, schemaSql: referenceSchemaSql(role, tables) })),
    };
}

/**
 * For a test file: before all its tests, a started cluster (see startedCluster) in a new folder named
 * `prefix…`, handed to `made`; after all of them, the cluster and its folder removed.
 */
export function clusterForFile(prefix: string, superuserPassword: string, settings: Record<string, string>, made: (loc: ClusterLocation) => void): void {
    let root: string;
    let loc: ClusterLocation;
    beforeAll(async () => {
        root = tempDir(prefix);
        loc = await startedCluster(root, superuserPassword, settings);
        made(loc);
    });
    afterAll(() => removeClusterAndRoot(loc, root));
}

/** Removes the cluster (see removeCluster) and then the whole folder `root`. */
export function removeClusterAndRoot(loc: ClusterLocation, root: string): void {
    removeCluster(loc);
    fs.rmSync(root, { recursive: true, force: true });
}

/** Stops the cluster if it runs and removes its folder; never throws. */
export function removeCluster(loc: ClusterLocation): void {
    try {
        stopCluster(loc);
    } catch {
        // already stopped or never created
    }
    fs.rmSync(loc.serverDir, { recursive: true, force: true });
}

/**
 * Processes (other than this one) for which `matches(pid, argv)` holds, as "pid argv…" lines; zombies
 * excluded, and so is a process that ends while we look or is not ours to read (`matches` may throw then).
 */
export function processesWhere(matches: (pid: string, argv: string[]) => boolean): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            if (stat.slice(stat.lastIndexOf(")") + 2)[0] === "Z") {
                continue;
            }
            const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
            if (matches(pid, argv)) {
                found.push(`${pid} ${argv.join(" ")}`);
            }
        } catch {
            // ended while we looked, or not ours to read
        }
    }
    return found;
}

/** Processes (other than this one) with an argument inside `dir`, as "pid argv…" lines; zombies excluded. */
export function processesMentioning(dir: string): string[] {
    return processesWhere((_pid, argv) => argv.some((a) => a === dir || a.startsWith(dir + path.sep)));
}

/** The rows of `sql` on the database a libpq URL names. */
export async function queryUrl<T>(connectionString: string, sql: string): Promise<T[]> {
    return withClient(connectionString, async (client) => (await client.query(sql)).rows as T[]);
}

/** Stops the server in `serverDir` with pg_ctl, as its OS user: an outage behind Pulumi's back. */
export function stopByHand(serverDir: string): void {
    const pgCtl = path.join(findPostgresBinDir(undefined), "pg_ctl");
    const user = serverOsUser(undefined);
    const args = ["stop", "--pgdata", path.join(serverDir, "pgdata"), "--mode", "fast", "--wait"];
    childProcess.execFileSync(user ? "runuser" : pgCtl, user ? ["-u", user, "--", pgCtl, ...args] : args, { cwd: serverDir });
}
