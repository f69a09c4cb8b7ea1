// The steps of a PostgresServer's life that its provider (postgresServer.ts) strings together: the
// refusals before a create, bringing a created or adopted cluster to its declared state, a declared
// standby that only ever starts read-only, and the rebuild of one whose folder is gone.
import * as cluster from "../postgres/cluster";
import { assertPortFree } from "../platform/ports";
import { claimPrepared, releaseClaimed } from "./prepared";
import * as standby from "../standby/hot/replication";
import * as switchover from "../standby/hot/switchover";

export interface ServerInputs extends cluster.ClusterLocation {
    serverName: string;
    owner: string;
    settings: Record<string, string>;
    ownerRole: string;
    databases: { name: string; schemaSql: string }[];
    superuserPassword?: string;
    applicationPassword?: string;
    retain: boolean;
    role: "primary" | "standby";
    upstream?: standby.Upstream;
    providerVersion: string;
}

export interface ServerOutputs extends ServerInputs {
    superuserPassword: string;
    applicationPassword: string;
    /** Whether the server was accepting connections when last looked at. */
    running: boolean;
    /** When the postmaster started (PostgreSQL's own clock). */
    startedAt: string;
    systemIdentifier: string;
    serverVersion: string;
    /** What the last update did to apply settings: "none", "reloaded" or "restarted". */
    lastSettingsChange: string;
}

export function newPassword(): string {
    const crypto = require("crypto") as typeof import("crypto");
    return crypto.randomBytes(24).toString("base64url");
}

/** Refuses, before anything is created, a busy port or a folder that is not this server's. */
export async function assertCanCreate(inputs: ServerInputs): Promise<"new" | "adopt"> {
    const path = require("path") as typeof import("path");
    const host = cluster.hostOfServer(inputs);
    const markerPath = path.join(inputs.serverDir, cluster.SERVER_MARKER);
    let mode: "new" | "adopt" = "new";
    if (host.exists(markerPath)) {
        const marker = JSON.parse(host.readText(markerPath)) as cluster.ServerMarker;
        if (marker.owner !== inputs.owner || marker.server !== inputs.serverName) {
            throw new Error(
                `${inputs.serverDir} holds server ${marker.server} of stack ${marker.owner}, not ${inputs.serverName} of ${inputs.owner}; ` +
                    "refusing to touch it (choose another platform.dataRoot or server name)",
            );
        }
        mode = "adopt"; // our own retained server: take it back as it is
    } else if (host.list(inputs.serverDir).length > 0) {
        throw new Error(
            `${inputs.serverDir} already exists and is not a stagewise server of this stage; refusing to overwrite or delete it ` +
                "(choose another platform.dataRoot or server name, or move that folder away)",
        );
    }
    const running = mode === "adopt" && cluster.clusterStatus(cluster.locationOf(inputs)) === "running";
    if (!running) {
        await assertPortFree(inputs.host, inputs.port, `servers.${inputs.serverName}.port`, `server ${inputs.serverName}`, undefined, cluster.remoteProbe(inputs));
    }
    return mode;
}

/**
 * Makes the cluster of a new server, with its settings, and starts it: adopts the one the program
 * prepared ahead (server/prepared.ts) and gives it the real superuser password, or runs initdb.
 */
export async function newCluster(inputs: ServerInputs, superuserPassword: string): Promise<NonNullable<cluster.ServerMarker["initdb"]>> {
    const loc = cluster.locationOf(inputs);
    require("pg"); // loaded while the prepared initdb may still run, not after
    const prepared = await claimPrepared(loc, inputs.serverName);
    if (prepared === undefined) {
        cluster.initCluster(loc, superuserPassword);
        cluster.writeSettings(loc, inputs.settings);
        cluster.startCluster(loc);
        return "at create";
    }
    cluster.hostOfServer(loc).rename(prepared.dataDir, cluster.dataDirOf(loc));
    releaseClaimed(prepared);
    cluster.configureNewCluster(loc);
    cluster.writeSettings(loc, inputs.settings);
    cluster.startCluster(loc);
    await cluster.setSuperuserPassword(loc, prepared.password, superuserPassword);
    return "ahead";
}

/**
 * Brings a created or adopted cluster to the declared state; returns the outputs. A declared
 * standby is started only as a standby (followDeclaredPrimary) and gets no bootstrap: it is read-only.
 */
export async function converge(
    inputs: ServerInputs,
    passwords: { superuser: string; application: string },
    settingsChange: string,
    previous?: ServerOutputs,
): Promise<ServerOutputs> {
    const loc = cluster.locationOf(inputs);
    if (inputs.role === "standby") {
        await followDeclaredPrimary(inputs, passwords.superuser);
    } else if (cluster.clusterStatus(loc) !== "running") {
        cluster.startCluster(loc);
    }
    const outs = { ...inputs, superuserPassword: passwords.superuser, applicationPassword: passwords.application, lastSettingsChange: settingsChange };
    if (cluster.clusterStatus(loc) !== "running") {
        return { ...outs, running: false, startedAt: previous?.startedAt ?? "", systemIdentifier: previous?.systemIdentifier ?? "", serverVersion: previous?.serverVersion ?? "" };
    }
    if (!(await switchover.inRecovery(loc, passwords.superuser)) && !(await isStaleFormerPrimary(inputs, passwords.superuser))) {
        await cluster.bootstrap(loc, passwords.superuser, {
            ownerRole: inputs.ownerRole,
            ownerPassword: passwords.application,
            databases: inputs.databases,
        });
    }
    const facts = await cluster.liveFacts(loc, passwords.superuser);
    return { ...outs, running: true, ...facts };
}

/**
 * Whether this writable server is declared a standby of a primary that is writable too: a former
 * primary left as it was (its host cut off during a failover), PrimaryRole's to rejoin. Nothing is
 * written to it: a write would wait forever for the synchronous standby that has since taken over.
 */
async function isStaleFormerPrimary(inputs: ServerInputs, password: string): Promise<boolean> {
    if (inputs.role !== "standby" || inputs.upstream === undefined) {
        return false;
    }
    // When the upstream cannot be asked, the server is treated as before (bootstrapped).
    return (await switchover.roleOf(inputs.upstream, password).catch(() => "down")) === "primary";
}

/**
 * A declared standby that is stopped starts only as a standby: with its standby.signal, or — a former
 * primary — rejoined through pg_rewind once the declared primary accepts writes. Until then it stays
 * stopped (fenced): it is never started writable. A running one is left as it is (a pending role
 * change is PrimaryRole's to make).
 */
async function followDeclaredPrimary(inputs: ServerInputs, password: string): Promise<void> {
    const loc = cluster.locationOf(inputs);
    const upstream = inputs.upstream;
    const status = cluster.clusterStatus(loc);
    if (status === "missing") {
        console.log(`server ${inputs.serverName}: has no data directory: it needs a rebuild (\`pulumi up --refresh\` rebuilds it from the declared primary)`);
    }
    if (status !== "stopped" || upstream === undefined) {
        return;
    }
    const member = { name: inputs.serverName, loc };
    const log = (line: string) => console.log(`server ${inputs.serverName}: ${line}`);
    if (standby.hasStandbySignal(loc)) {
        standby.configureStandby(member, upstream, password);
        cluster.startCluster(loc);
        return;
    }
    const upstreamLoc = { ...loc, host: upstream.host, port: upstream.port };
    if ((await switchover.roleOf(upstreamLoc, password)) === "primary") {
        log("was a primary and is declared a standby: rejoining with pg_rewind");
        await switchover.rejoinAsStandby(member, upstream, password, { rewind: true, onProgress: log, staleSlots: [] });
        return;
    }
    log("was a primary and is declared a standby: it stays stopped (fenced) until the declared primary accepts writes");
}

/**
 * A server declared a standby whose data directory is gone is rebuilt as a standby of the declared
 * primary (pg_basebackup), never initialized as a new writable cluster. Its passwords are the
 * group's, so they must be configured: a generated one died with the old folder.
 */
export async function rebuildAsStandby(inputs: ServerInputs): Promise<ServerOutputs> {
    const path = require("path") as typeof import("path");
    const upstream = inputs.upstream!;
    if (inputs.superuserPassword === undefined || inputs.applicationPassword === undefined) {
        throw new Error(
            `${inputs.serverName} is declared a standby of ${upstream.host}:${upstream.port} and has no data directory: it needs a rebuild from the declared primary; ` +
                "set the group's passwords (pulumi config set --secret superuserPassword / applicationPassword) so stagewise can rebuild it — it is never started as a new writable server",
        );
    }
    const loc = cluster.locationOf(inputs);
    console.log(`server ${inputs.serverName}: rebuilding as a standby of ${upstream.host}:${upstream.port} (pg_basebackup)`);
    await switchover.dropIdleSlots(upstream, inputs.superuserPassword, [inputs.serverName]); // its old slot: pg_basebackup makes a fresh one
    await standby.createHotStandby(
        { name: inputs.serverName, loc, primary: { ...upstream, superuserPassword: inputs.superuserPassword }, slot: standby.slotOf(inputs.serverName), settings: inputs.settings },
        (line) => console.log(`server ${inputs.serverName}: ${line}`),
    );
    const marker: cluster.ServerMarker = { owner: inputs.owner, server: inputs.serverName, createdAt: new Date().toISOString() };
    cluster.hostOfServer(loc).writeFile(path.join(inputs.serverDir, cluster.SERVER_MARKER), JSON.stringify(marker, null, 2) + "\n", { mode: 0o644, owned: false });
    return converge(inputs, { superuser: inputs.superuserPassword, application: inputs.applicationPassword }, "none");
}
