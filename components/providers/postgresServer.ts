// PostgresServer: a PostgreSQL cluster on this machine as a Pulumi resource with a full lifecycle.
// create: refuse a busy port or a foreign folder, initdb, settings, start, bootstrap the engine's
// databases. update: reload or restart as PostgreSQL says, start a server stopped behind our back.
// delete: stop, and remove the folder unless retained. The work itself is in platform/cluster.ts.
// In production's replication group it is told its declared role and never changes roles itself
// (PrimaryRole does): declared a standby, it is only ever started read-only.
import * as pulumi from "@pulumi/pulumi";
import * as cluster from "../platform/cluster";
import { recoverInterruptedCopy } from "../platform/copy";
import { assertPortFree } from "../platform/ports";
import * as standby from "../platform/standby";
import * as switchover from "../platform/switchover";
import { sameData } from "./diffs";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "2";

export interface PostgresServerArgs {
    /** The server's stable name within its stage. */
    readonly serverName: pulumi.Input<string>;
    /** `<project>/<stack>` that owns it. */
    readonly owner: pulumi.Input<string>;
    /** Folder of the PostgreSQL programs. */
    readonly binDir: pulumi.Input<string>;
    /** Folder of this server (its data directory is `pgdata/` inside). Changing it replaces the server. */
    readonly serverDir: pulumi.Input<string>;
    /** Loopback address it listens on. @default "127.0.0.1" */
    readonly host?: pulumi.Input<string>;
    /** Port it listens on. Changing it replaces the server. */
    readonly port: pulumi.Input<number>;
    /** OS user that runs it (when deploying as root). @default the deployer */
    readonly osUser?: pulumi.Input<string>;
    /** postgresql.conf settings. @default {} */
    readonly settings?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** Role owning the engine's databases. */
    readonly ownerRole: pulumi.Input<string>;
    /** Databases to create, each with the SQL loaded into it as the owner. */
    readonly databases: pulumi.Input<pulumi.Input<{ name: string; schemaSql: string }>[]>;
    /** Superuser password. @default generated, and kept as a secret output */
    readonly superuserPassword?: pulumi.Input<string>;
    /** The owner role's password. @default generated, and kept as a secret output */
    readonly applicationPassword?: pulumi.Input<string>;
    /** Keep the folder when the resource is deleted. @default false */
    readonly retain?: pulumi.Input<boolean>;
    /** Its declared role in production's replication group. @default "primary" */
    readonly role?: pulumi.Input<"primary" | "standby">;
    /** The declared primary it streams from, when its role is "standby". */
    readonly upstream?: pulumi.Input<standby.Upstream>;
}

interface ServerInputs {
    serverName: string;
    owner: string;
    binDir: string;
    serverDir: string;
    host: string;
    port: number;
    osUser?: string;
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

interface ServerOutputs extends ServerInputs {
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

/** Inputs whose change means a new cluster. */
const REPLACING_INPUTS = ["serverDir", "port", "osUser"] as const;

function newPassword(): string {
    const crypto = require("crypto") as typeof import("crypto");
    return crypto.randomBytes(24).toString("base64url");
}

/** Refuses, before anything is created, a busy port or a folder that is not this server's. */
async function assertCanCreate(inputs: ServerInputs): Promise<"new" | "adopt"> {
    const fs = require("fs") as typeof import("fs");
    const path = require("path") as typeof import("path");
    const markerPath = path.join(inputs.serverDir, cluster.SERVER_MARKER);
    let mode: "new" | "adopt" = "new";
    if (fs.existsSync(markerPath)) {
        const marker = JSON.parse(fs.readFileSync(markerPath, "utf8")) as cluster.ServerMarker;
        if (marker.owner !== inputs.owner || marker.server !== inputs.serverName) {
            throw new Error(
                `${inputs.serverDir} holds server ${marker.server} of stack ${marker.owner}, not ${inputs.serverName} of ${inputs.owner}; ` +
                    "refusing to touch it (choose another platform.dataRoot or server name)",
            );
        }
        mode = "adopt"; // our own retained server: take it back as it is
    } else if (fs.existsSync(inputs.serverDir) && fs.readdirSync(inputs.serverDir).length > 0) {
        throw new Error(
            `${inputs.serverDir} already exists and is not a stagewise server of this stage; refusing to overwrite or delete it ` +
                "(choose another platform.dataRoot or server name, or move that folder away)",
        );
    }
    const running = mode === "adopt" && cluster.clusterStatus(cluster.locationOf(inputs)) === "running";
    if (!running) {
        await assertPortFree(inputs.host, inputs.port, `servers.${inputs.serverName}.port`, `server ${inputs.serverName}`);
    }
    return mode;
}

/**
 * Brings a created or adopted cluster to the declared state; returns the outputs. A declared
 * standby is started only as a standby (followDeclaredPrimary) and gets no bootstrap: it is read-only.
 */
async function converge(
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
    if (!(await switchover.inRecovery(loc, passwords.superuser))) {
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
async function rebuildAsStandby(inputs: ServerInputs): Promise<ServerOutputs> {
    const fs = require("fs") as typeof import("fs");
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
    fs.writeFileSync(path.join(inputs.serverDir, cluster.SERVER_MARKER), JSON.stringify(marker, null, 2) + "\n");
    return converge(inputs, { superuser: inputs.superuserPassword, application: inputs.applicationPassword }, "none");
}

const postgresServerProvider: pulumi.dynamic.ResourceProvider<ServerInputs, ServerOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        const path = require("path") as typeof import("path");
        for (const key of ["binDir", "serverDir"] as const) {
            if (typeof news[key] !== "string" || !path.isAbsolute(news[key])) {
                failures.push({ property: key, reason: `${JSON.stringify(news[key])} is not an absolute path` });
            }
        }
        if (!Number.isInteger(news.port) || news.port < 1024 || news.port > 65535) {
            failures.push({ property: "port", reason: `${JSON.stringify(news.port)} is not a port from 1024 to 65535` });
        }
        for (const name of Object.keys(news.settings ?? {})) {
            if (!/^[a-z_][a-z0-9_.]*$/.test(name)) {
                failures.push({ property: "settings", reason: `${JSON.stringify(name)} is not a PostgreSQL setting name` });
            }
        }
        if (news.role === "standby" && news.upstream === undefined) {
            failures.push({ property: "upstream", reason: "a declared standby needs the endpoint of the declared primary" });
        }
        return {
            inputs: { ...news, host: news.host ?? "127.0.0.1", settings: news.settings ?? {}, retain: news.retain ?? false, role: news.role ?? "primary" },
            failures,
        };
    },

    async diff(_id, olds, news) {
        const replaces = REPLACING_INPUTS.filter((k) => olds[k] !== news[k]);
        const changed: string[] = [];
        for (const key of ["serverName", "owner", "binDir", "host", "settings", "ownerRole", "databases", "retain", "role", "upstream", "providerVersion"] as const) {
            if (!sameData(olds[key], news[key])) {
                changed.push(key);
            }
        }
        // Passwords left to the provider stay as generated; given ones replace them.
        for (const key of ["superuserPassword", "applicationPassword"] as const) {
            if (news[key] !== undefined && news[key] !== olds[key]) {
                changed.push(key);
            }
        }
        // Drift: a server stopped behind Pulumi's back shows in every preview, and `up` starts it.
        let running = olds.running;
        try {
            running = running && cluster.clusterStatus(cluster.locationOf(olds)) === "running";
        } catch {
            running = false;
        }
        if (!running) {
            changed.push("running");
        }
        // Dynamic providers cannot return a detailed diff: preview shows the input changes, and a
        // stopped server as an update with none (`pulumi refresh` shows running: true => false).
        return { changes: changed.length + replaces.length > 0, replaces: [...replaces], deleteBeforeReplace: true };
    },

    async create(inputs) {
        const fs = require("fs") as typeof import("fs");
        const path = require("path") as typeof import("path");
        const loc = cluster.locationOf(inputs);
        const mode = await assertCanCreate(inputs);
        const passwords = {
            superuser: inputs.superuserPassword ?? newPassword(),
            application: inputs.applicationPassword ?? newPassword(),
        };
        if (mode === "adopt") {
            if (inputs.superuserPassword === undefined) {
                throw new Error(
                    `${inputs.serverDir} holds this server's retained cluster; set its superuser password ` +
                        "(pulumi config set --secret superuserPassword <value>) so stagewise can take it back",
                );
            }
            cluster.writeSettings(loc, inputs.settings);
            return { id: inputs.serverDir, outs: await converge(inputs, passwords, "none") };
        }
        if (inputs.role === "standby" && inputs.upstream !== undefined) {
            return { id: inputs.serverDir, outs: await rebuildAsStandby(inputs) };
        }
        const createdDir = !fs.existsSync(inputs.serverDir);
        try {
            fs.mkdirSync(inputs.serverDir, { recursive: true, mode: 0o700 });
            cluster.chownToServerUser(loc, inputs.serverDir);
            cluster.assertServerUserCanReach(loc, inputs.serverDir);
            cluster.initCluster(loc, passwords.superuser);
            cluster.writeSettings(loc, inputs.settings);
            // A new cluster starts as its own primary, whatever its declared role (PrimaryRole acts on that).
            const outs = { ...(await converge({ ...inputs, role: "primary" }, passwords, "none")), role: inputs.role };
            // The marker comes last: a folder without it was never a finished server.
            const marker: cluster.ServerMarker = { owner: inputs.owner, server: inputs.serverName, createdAt: new Date().toISOString() };
            fs.writeFileSync(path.join(inputs.serverDir, cluster.SERVER_MARKER), JSON.stringify(marker, null, 2) + "\n");
            return { id: inputs.serverDir, outs };
        } catch (err) {
            // Leave nothing half-made behind: the next `up` starts from scratch.
            try {
                cluster.stopCluster(loc);
            } catch {
                // it never started
            }
            if (createdDir) {
                fs.rmSync(inputs.serverDir, { recursive: true, force: true });
            } else {
                fs.rmSync(cluster.dataDirOf(loc), { recursive: true, force: true });
            }
            throw err;
        }
    },

    async read(id, props) {
        if (props === undefined) {
            return {};
        }
        const loc = cluster.locationOf(props);
        // An interrupted copy can leave the data directory renamed away: put it back before looking.
        await recoverInterruptedCopy(loc);
        const status = cluster.clusterStatus(loc);
        if (status === "missing") {
            return {}; // the data directory is gone: the resource no longer exists
        }
        if (status === "stopped") {
            return { id, props: { ...props, running: false } };
        }
        const facts = await cluster.liveFacts(loc, props.superuserPassword);
        return { id, props: { ...props, running: true, ...facts } };
    },

    async update(_id, olds, news) {
        const loc = cluster.locationOf(news);
        await recoverInterruptedCopy(loc);
        const passwords = {
            superuser: olds.superuserPassword,
            application: news.applicationPassword ?? olds.applicationPassword,
        };
        if (cluster.clusterStatus(loc) !== "running") {
            cluster.writeSettings(loc, news.settings);
            if (news.role === "standby") {
                return { outs: await converge(news, passwords, "none", olds) }; // started only as a standby, if at all
            }
            cluster.startCluster(loc);
        }
        let settingsChange = "none";
        if (!sameData(olds.settings, news.settings) || olds.host !== news.host || olds.binDir !== news.binDir) {
            settingsChange = await cluster.applySettings(loc, passwords.superuser, news.settings);
            if (olds.binDir !== news.binDir && settingsChange !== "restarted") {
                cluster.restartCluster(loc); // a new postgres binary only takes over on restart
                settingsChange = "restarted";
            }
        }
        if (news.superuserPassword !== undefined && news.superuserPassword !== olds.superuserPassword) {
            await cluster.setSuperuserPassword(loc, olds.superuserPassword, news.superuserPassword);
            passwords.superuser = news.superuserPassword;
        }
        return { outs: await converge(news, passwords, settingsChange, olds) };
    },

    async delete(_id, props) {
        const fs = require("fs") as typeof import("fs");
        const path = require("path") as typeof import("path");
        const loc = cluster.locationOf(props);
        const markerPath = path.join(props.serverDir, cluster.SERVER_MARKER);
        if (fs.existsSync(markerPath)) {
            await recoverInterruptedCopy(loc); // so the server that is stopped is the real one
        }
        if (!fs.existsSync(markerPath)) {
            cluster.stopCluster(loc); // whatever is left there is not ours to remove
            return;
        }
        const marker = JSON.parse(fs.readFileSync(markerPath, "utf8")) as cluster.ServerMarker;
        if (marker.owner !== props.owner || marker.server !== props.serverName) {
            return; // taken over by another stack since: leave it alone
        }
        cluster.stopCluster(loc);
        if (!props.retain) {
            fs.rmSync(props.serverDir, { recursive: true, force: true });
        }
    },
};

/** A PostgreSQL server on this machine. */
export class PostgresServer extends pulumi.dynamic.Resource {
    declare public readonly serverName: pulumi.Output<string>;
    declare public readonly host: pulumi.Output<string>;
    declare public readonly port: pulumi.Output<number>;
    declare public readonly serverDir: pulumi.Output<string>;
    declare public readonly superuserPassword: pulumi.Output<string>;
    declare public readonly applicationPassword: pulumi.Output<string>;
    declare public readonly running: pulumi.Output<boolean>;
    declare public readonly startedAt: pulumi.Output<string>;
    declare public readonly systemIdentifier: pulumi.Output<string>;
    declare public readonly serverVersion: pulumi.Output<string>;
    declare public readonly lastSettingsChange: pulumi.Output<string>;

    constructor(name: string, args: PostgresServerArgs, opts: pulumi.CustomResourceOptions = {}) {
        super(
            postgresServerProvider,
            name,
            {
                ...args,
                // Present even when not given, so the generated ones come back as (secret) outputs.
                superuserPassword: args.superuserPassword,
                applicationPassword: args.applicationPassword,
                providerVersion: PROVIDER_VERSION,
                running: undefined,
                startedAt: undefined,
                systemIdentifier: undefined,
                serverVersion: undefined,
                lastSettingsChange: undefined,
            },
            { ...opts, additionalSecretOutputs: ["superuserPassword", "applicationPassword"] },
            "stagewise",
            "PostgresServer",
        );
    }
}
