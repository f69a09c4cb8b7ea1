// PostgresServer: a PostgreSQL cluster on this machine as a Pulumi resource with a full lifecycle.
// create: refuse a busy port or a foreign folder, initdb, settings, start, bootstrap the engine's
// databases. update: reload or restart as PostgreSQL says, start a server stopped behind our back.
// delete: stop, and remove the folder unless retained. The steps are in serverLifecycle.ts, the work
// in postgres/cluster.ts.
// In production's replication group it is told its declared role and never changes roles itself
// (PrimaryRole does): declared a standby, it is only ever started read-only.
import * as pulumi from "@pulumi/pulumi";
import * as cluster from "../postgres/cluster";
import { recoverInterruptedCopy } from "../copy/stagingCopy";
import * as standby from "../standby/hot/replication";
import { sameData } from "../providers/diffs";
import { assertCanCreate, converge, newCluster, newPassword, rebuildAsStandby, ServerInputs, ServerOutputs } from "./serverLifecycle";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "4";

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

/** Inputs whose change means a new cluster. */
const REPLACING_INPUTS = ["serverDir", "port", "osUser"] as const;

export const postgresServerProvider: pulumi.dynamic.ResourceProvider<ServerInputs, ServerOutputs> = {
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
        // Drift: a server stopped behind Pulumi's back shows in every preview, and `up` starts it. What
        // counts is whether it runs now: one recorded stopped while fenced in a failover was started
        // since, as a standby, by the PrimaryRole (in the same up), and has nothing left to do.
        let running: boolean;
        try {
            running = cluster.clusterStatus(cluster.locationOf(olds)) === "running";
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
            const initdb = await newCluster(inputs, passwords.superuser);
            // A new cluster starts as its own primary, whatever its declared role (PrimaryRole acts on that).
            const outs = { ...(await converge({ ...inputs, role: "primary" }, passwords, "none")), role: inputs.role };
            // The marker comes last: a folder without it was never a finished server.
            const marker: cluster.ServerMarker = { owner: inputs.owner, server: inputs.serverName, createdAt: new Date().toISOString(), initdb };
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
