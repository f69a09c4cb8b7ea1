// A PostgreSQL cluster on this machine: initdb, settings, start/stop, status, and the bootstrap of
// the engine's role and databases. Plain Node (no Pulumi), so providers and tests share it.
// Programs run with argument arrays, never through a shell; passwords travel in files of mode 0600
// or as SCRAM verifiers, never on a command line or in a logged statement.
import * as crypto from "crypto";
import * as path from "path";
import type { Client } from "pg";
import { hostOf } from "../platform/local";
import { osUserIds as localOsUserIds, programCommand as localProgramCommand, runsAsOtherUser } from "../platform/localHost";
import type { Host, RemoteMachine } from "../platform/platform";
import { SUPERUSER } from "./pg";
import { waitUntil } from "./poll";
import { baseSettings, settingsFileText } from "./settingsFile";

export { SUPERUSER, baseSettings, settingsFileText };

export interface ClusterLocation {
    /** Folder of initdb, pg_ctl and postgres. */
    binDir: string;
    /** Folder of this server: holds `pgdata/`, `server.log` and the ownership marker. */
    serverDir: string;
    host: string;
    port: number;
    /** OS user the server runs as, when the deployer is root. */
    osUser?: string;
    /** The other machine it runs on, over SSH (a secret input: it holds the private key). */
    machine?: RemoteMachine;
}

/** Just the location fields of a provider's inputs (which carry many more). */
export function locationOf(props: ClusterLocation): ClusterLocation {
    return { binDir: props.binDir, serverDir: props.serverDir, host: props.host, port: props.port, osUser: props.osUser, ...(props.machine ? { machine: props.machine } : {}) };
}

export function dataDirOf(loc: Pick<ClusterLocation, "serverDir">): string {
    return path.join(loc.serverDir, "pgdata");
}

export function logFileOf(loc: ClusterLocation): string {
    return path.join(loc.serverDir, "server.log");
}

/** Name of the marker that ties a server folder to the stack and server that created it. */
export const SERVER_MARKER = "stagewise-server.json";

export interface ServerMarker {
    owner: string;
    server: string;
    createdAt: string;
    /** Where its initdb ran: "ahead" (started by the program, server/prepared.ts) or "at create"; absent for a rebuilt standby. */
    initdb?: "ahead" | "at create";
}

/** The host a server lives on (the local machine today, see platform/local.ts hostOf). */
export function hostOfServer(loc: ClusterLocation): Host {
    return hostOf(loc);
}

/** The server's machine and host when it is another machine (a port is asked about there), else undefined. */
export function remoteProbe(loc: ClusterLocation): { machine: RemoteMachine; portIsFree: Host["portIsFree"] } | undefined {
    if (loc.machine === undefined) {
        return undefined;
    }
    const host = hostOf(loc);
    return { machine: loc.machine, portIsFree: (address, port) => host.portIsFree(address, port) };
}

/** Whether programs for this server must run as another OS user (the deployer is root, the server is not). */
export function asServerUser(loc: ClusterLocation): boolean {
    return runsAsOtherUser(loc);
}

/** The command and arguments that run one of the PostgreSQL programs as the server's OS user when needed. */
export function programCommand(loc: ClusterLocation, program: string, args: string[]): [string, string[]] {
    return localProgramCommand(loc, program, args);
}

// pg_ctl starts the server through /bin/sh with its paths in double quotes, where " $ ` and \ still act.
const SHELL_ACTIVE = /["$`\\\n]/;

/** Runs one of the PostgreSQL programs (as the server's OS user when needed); returns its stdout. */
export function runProgram(loc: ClusterLocation, program: string, args: string[]): string {
    // Its own folder too: pg_ctl runs the postgres program next to it through that shell.
    const unsafe = program === "pg_ctl" ? [loc.binDir, ...args].find((arg) => SHELL_ACTIVE.test(arg)) : undefined;
    if (unsafe !== undefined) {
        throw new Error(`pg_ctl would pass ${JSON.stringify(unsafe)} through a shell, which acts on " $ \` \\ and line breaks in it (choose a platform.dataRoot and binDir without them)`);
    }
    return hostOf(loc).run(program, args, { cwd: loc.serverDir });
}

/** Gives `target` to the server's OS user (when deploying as root). */
export function chownToServerUser(loc: ClusterLocation, target: string): void {
    hostOf(loc).giveToServerUser(target);
}

/** The numeric user and group ids of OS user `user`. */
export function osUserIds(user: string): { uid: number; gid: number } {
    return localOsUserIds(user);
}

/** Fails with a clear message when the server's OS user cannot reach `dir` (e.g. a parent of mode 0700). */
export function assertServerUserCanReach(loc: ClusterLocation, dir: string): void {
    if (!hostOf(loc).serverUserCanEnter(dir)) {
        throw new Error(
            `the servers' OS user ${loc.osUser} cannot reach ${dir} (a parent folder is closed to it); ` +
                "choose a platform.dataRoot that user can open, or set platform.osUser",
        );
    }
}

/** initdb's arguments for a new cluster in `dataDir`: SCRAM authentication, data checksums, UTF-8. */
export function initdbArgs(dataDir: string, pwfile: string): string[] {
    return [
        "--pgdata", dataDir,
        "--username", SUPERUSER,
        "--pwfile", pwfile,
        "--auth-local", "scram-sha-256",
        "--auth-host", "scram-sha-256",
        "--data-checksums",
        "--encoding", "UTF8",
        "--no-locale",
        "--no-instructions",
    ];
}

/** Creates the cluster: initdb (see initdbArgs), then our pg_hba.conf and the settings include. */
export function initCluster(loc: ClusterLocation, superuserPassword: string): void {
    const host = hostOf(loc);
    const pwfile = path.join(loc.serverDir, ".initdb-password");
    host.writeFile(pwfile, superuserPassword + "\n", { mode: 0o600 });
    try {
        runProgram(loc, "initdb", initdbArgs(dataDirOf(loc), pwfile));
    } finally {
        host.remove(pwfile);
    }
    configureNewCluster(loc);
}

/** What every new cluster gets after initdb, wherever initdb ran: our pg_hba.conf and the settings include. */
export function configureNewCluster(loc: ClusterLocation): void {
    const dataDir = dataDirOf(loc);
    writeHba(loc);
    hostOf(loc).appendText(path.join(dataDir, "postgresql.conf"), "\n# Managed by stagewise:\ninclude_if_exists = 'stagewise.conf'\n");
}

const HBA = [
    "# Managed by stagewise: password (SCRAM) logins, loopback only.",
    "local   all          all                 scram-sha-256",
    "host    all          all  127.0.0.1/32   scram-sha-256",
    "host    all          all  ::1/128        scram-sha-256",
    "local   replication  all                 scram-sha-256",
    "host    replication  all  127.0.0.1/32   scram-sha-256",
    "host    replication  all  ::1/128        scram-sha-256",
    "",
].join("\n");

/** A server on another machine also takes password logins from its own subnets (the deployer's and its peers'). */
const SAME_NET = [
    "# On its own machine: its subnets too (the deployer and the other members reach it there).",
    "host    all          all  samenet        scram-sha-256",
    "host    replication  all  samenet        scram-sha-256",
    "",
].join("\n");

/** Networks a host admits beyond its own subnets, one pair of lines each (an address alone is one host). */
function admitted(networks: readonly string[]): string {
    if (networks.length === 0) {
        return "";
    }
    const cidr = (n: string) => (n.includes("/") ? n : `${n}/${n.includes(":") ? 128 : 32}`);
    const lines = networks.flatMap((n) => [`host    all          all  ${cidr(n)}  scram-sha-256`, `host    replication  all  ${cidr(n)}  scram-sha-256`]);
    return ["# Beyond its subnets: hosts.<name>.admit and the stack's members on other subnets.", ...lines, ""].join("\n");
}

/** The pg_hba.conf of a server at `loc`: loopback here; on another machine its subnets and the networks its host admits. */
export function hbaText(loc: Pick<ClusterLocation, "machine">): string {
    return loc.machine ? HBA + SAME_NET + admitted(loc.machine.admit ?? []) : HBA;
}

function writeHba(loc: ClusterLocation): void {
    writeOwnedFile(loc, path.join(dataDirOf(loc), "pg_hba.conf"), hbaText(loc));
}

/**
 * Brings the server's pg_hba.conf to what its place admits (the host's `admit` changed, or the
 * stack's members moved subnets) and has a running server read it. Returns whether it changed.
 */
export function ensureHba(loc: ClusterLocation): boolean {
    if (loc.machine === undefined) {
        return false; // here it stays as initdb left it: loopback only, nothing to admit
    }
    const file = path.join(dataDirOf(loc), "pg_hba.conf");
    const host = hostOf(loc);
    if (!host.exists(file) || host.readText(file) === hbaText(loc)) {
        return false;
    }
    writeHba(loc);
    if (clusterStatus(loc) === "running") {
        runProgram(loc, "pg_ctl", ["reload", "--pgdata", dataDirOf(loc), "--silent"]);
    }
    return true;
}

/** Writes a file of the server's whole (temporary file, then rename), mode 0600, and gives it to the server's OS user. */
export function writeOwnedFile(loc: Pick<ClusterLocation, "binDir" | "osUser">, file: string, content: string | Buffer): void {
    hostOf(loc).writeFile(file, content, { mode: 0o600, owned: true });
}

/** Writes `stagewise.conf` (see settingsFileText). */
export function writeSettings(loc: ClusterLocation, settings: Record<string, string>): void {
    writeOwnedFile(loc, path.join(dataDirOf(loc), "stagewise.conf"), settingsFileText(loc, settings));
}

/**
 * writeSettings for a server made from a copy of another (a base backup, a restore), with its own
 * pg_hba.conf: the copy's postgresql.auto.conf also carries the source primary's ALTER SYSTEM
 * synchronous_standby_names, which would make the copy's first commit once promoted wait forever
 * for standbys it does not have.
 */
export function writeCopySettings(loc: ClusterLocation, settings: Record<string, string>): void {
    writeSettings(loc, settings);
    writeHba(loc); // the source's admits its own peers, not this server's
    const autoConf = path.join(dataDirOf(loc), "postgresql.auto.conf");
    const host = hostOf(loc);
    if (!host.exists(autoConf)) {
        return;
    }
    const lines = host.readText(autoConf).split("\n");
    const kept = lines.filter((l) => !/^\s*synchronous_standby_names\s*=/.test(l));
    if (kept.length !== lines.length) {
        writeOwnedFile(loc, autoConf, kept.join("\n"));
    }
}

export type ServerStatus = "running" | "stopped" | "missing";

/** The server accepts connections on its port (pg_isready: no password needed). */
export function answersOnPort(loc: ClusterLocation): boolean {
    return hostOf(loc).answers(loc.host, loc.port);
}

export function clusterStatus(loc: ClusterLocation): ServerStatus {
    try {
        if (hostOf(loc).facts(path.join(dataDirOf(loc), "PG_VERSION")) === undefined) {
            return "missing";
        }
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EACCES") {
            return "missing";
        }
        // A deployer who may not enter the data folder (a preview runner's unprivileged user) asks the
        // server itself, which needs no password: accepting connections on its port means running.
        return answersOnPort(loc) ? "running" : "stopped";
    }
    try {
        runProgram(loc, "pg_ctl", ["status", "--pgdata", dataDirOf(loc)]);
        return "running";
    } catch (err) {
        if ((err as { exitCode?: number }).exitCode === 3) {
            return "stopped";
        }
        throw err;
    }
}

/** Starts the server and waits until it accepts connections. pg_ctl detaches it into its own session. */
export function startCluster(loc: ClusterLocation): void {
    try {
        runProgram(loc, "pg_ctl", ["start", "--pgdata", dataDirOf(loc), "--log", logFileOf(loc), "--wait", "--timeout", "120", "--silent"]);
    } catch (err) {
        throw new Error(`${(err as Error).message}\nlast lines of ${logFileOf(loc)}:\n${tail(loc, logFileOf(loc), 10)}`);
    }
}

export function restartCluster(loc: ClusterLocation): void {
    runProgram(loc, "pg_ctl", ["restart", "--pgdata", dataDirOf(loc), "--log", logFileOf(loc), "--mode", "fast", "--wait", "--timeout", "120", "--silent"]);
}

export function stopCluster(loc: ClusterLocation): void {
    if (clusterStatus(loc) === "running") {
        runProgram(loc, "pg_ctl", ["stop", "--pgdata", dataDirOf(loc), "--mode", "fast", "--wait", "--timeout", "120", "--silent"]);
    }
}

function tail(loc: ClusterLocation, file: string, lines: number): string {
    try {
        return hostOf(loc).readText(file).trimEnd().split("\n").slice(-lines).join("\n");
    } catch {
        return "(no log)";
    }
}

/** A connected client: superuser, over TCP on loopback. Close it with `end()`. */
export async function connect(loc: ClusterLocation, password: string, database = "postgres"): Promise<Client> {
    const { Client: PgClient } = require("pg") as typeof import("pg");
    const client = new PgClient({ host: loc.host, port: loc.port, user: SUPERUSER, password, database, connectionTimeoutMillis: 10_000 });
    await client.connect();
    return client;
}

/** A SCRAM-SHA-256 verifier for `password`, so the plain password never reaches the server's logs. */
export function scramVerifier(password: string, salt: Buffer = crypto.randomBytes(16), iterations = 4096): string {
    const salted = crypto.pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
    const hmac = (key: Buffer, text: string) => crypto.createHmac("sha256", key).update(text).digest();
    const storedKey = crypto.createHash("sha256").update(hmac(salted, "Client Key")).digest();
    const serverKey = hmac(salted, "Server Key");
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

export interface Bootstrap {
    /** Role that owns the engine's databases. */
    ownerRole: string;
    ownerPassword: string;
    /** Databases to create, with the SQL to load into each (as the owner). */
    databases: { name: string; schemaSql: string }[];
}

/**
 * Creates the owner role and the databases when missing and loads each schema (idempotent SQL) as the
 * owner; sets the owner's password. Running it again changes nothing.
 */
export async function bootstrap(loc: ClusterLocation, superuserPassword: string, spec: Bootstrap): Promise<void> {
    const admin = await connect(loc, superuserPassword);
    try {
        const role = admin.escapeIdentifier(spec.ownerRole);
        const exists = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [spec.ownerRole]);
        const verifier = admin.escapeLiteral(scramVerifier(spec.ownerPassword));
        await admin.query(`${exists.rowCount ? "ALTER" : "CREATE"} ROLE ${role} LOGIN PASSWORD ${verifier}`);
    } finally {
        await admin.end();
    }
    // The databases are independent of each other: each is created and loaded on its own connections,
    // all at once (most of the time is the server writing files, which overlaps well).
    const results = await Promise.allSettled(spec.databases.map((db) => createAndLoad(loc, superuserPassword, spec.ownerRole, db)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
        throw failed.reason;
    }
}

async function createAndLoad(loc: ClusterLocation, superuserPassword: string, ownerRole: string, db: Bootstrap["databases"][number]): Promise<void> {
    const admin = await connect(loc, superuserPassword);
    try {
        const found = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [db.name]);
        if (!found.rowCount) {
            await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(db.name)} OWNER ${admin.escapeIdentifier(ownerRole)}`);
        }
    } finally {
        await admin.end();
    }
    if (db.schemaSql.trim() === "") {
        return;
    }
    const client = await connect(loc, superuserPassword, db.name);
    try {
        await client.query("BEGIN");
        await client.query(`SET LOCAL ROLE ${client.escapeIdentifier(ownerRole)}`);
        await client.query(db.schemaSql);
        await client.query("COMMIT");
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new Error(`loading the schema into database ${db.name} failed: ${(err as Error).message}`);
    } finally {
        await client.end();
    }
}

/** Sets the superuser's password (as a SCRAM verifier). */
export async function setSuperuserPassword(loc: ClusterLocation, currentPassword: string, newPassword: string): Promise<void> {
    const admin = await connect(loc, currentPassword);
    try {
        await admin.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${admin.escapeLiteral(scramVerifier(newPassword))}`);
    } finally {
        await admin.end();
    }
}

export interface LiveFacts {
    startedAt: string;
    systemIdentifier: string;
    serverVersion: string;
}

export async function liveFacts(loc: ClusterLocation, superuserPassword: string): Promise<LiveFacts> {
    const client = await connect(loc, superuserPassword);
    try {
        const { rows } = await client.query(
            "SELECT pg_postmaster_start_time()::text AS started, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, current_setting('server_version') AS version",
        );
        return { startedAt: rows[0].started, systemIdentifier: rows[0].sysid, serverVersion: rows[0].version };
    } finally {
        await client.end();
    }
}

/**
 * Applies changed settings: reload first; restart only when PostgreSQL reports a setting that needs one
 * (pg_settings.pending_restart, which follows each setting's context). Returns what it did.
 */
export async function applySettings(
    loc: ClusterLocation,
    superuserPassword: string,
    settings: Record<string, string>,
): Promise<"reloaded" | "restarted"> {
    writeSettings(loc, settings);
    const client = await connect(loc, superuserPassword);
    let pending: string[];
    try {
        const before = (await client.query("SELECT pg_conf_load_time() AS t")).rows[0].t as Date;
        await client.query("SELECT pg_reload_conf()");
        // The reload is asynchronous: this session reads the file again between statements.
        // (At most 5 s; past that the checks below read what the server has.)
        await waitUntil(async () => ((await client.query("SELECT pg_conf_load_time() AS t")).rows[0].t as Date).getTime() > before.getTime(), {
            timeoutMs: 5_000,
            intervalMs: 50,
        }).catch(() => undefined);
        // "setting could not be applied" marks a setting that waits for a restart, not a bad one.
        const errors = await client.query(
            "SELECT name, error FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'",
        );
        if (errors.rowCount) {
            throw new Error(`PostgreSQL rejected settings: ${errors.rows.map((r) => `${r.name}: ${r.error}`).join("; ")}`);
        }
        const { rows } = await client.query("SELECT name FROM pg_settings WHERE pending_restart ORDER BY name");
        pending = rows.map((r) => r.name as string);
    } finally {
        await client.end();
    }
    if (pending.length === 0) {
        return "reloaded";
    }
    restartCluster(loc);
    return "restarted";
}
