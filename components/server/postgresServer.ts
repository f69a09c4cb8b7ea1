// PostgresServer: a PostgreSQL cluster on this machine as a Pulumi resource with a full lifecycle.
// create: refuse a busy port or a foreign folder, initdb, settings, start, bootstrap the engine's
// databases. update: reload or restart as PostgreSQL says, start a server stopped behind our back.
// delete: stop, and remove the folder unless retained. The steps are in serverLifecycle.ts, the work
// in postgres/cluster.ts.
// In production's replication group it is told its declared role and never changes roles itself
// (PrimaryRole does): declared a standby, it is only ever started read-only.
import * as pulumi from "@pulumi/pulumi";
import * as cluster from "../postgres/cluster";
import type { RemoteMachine } from "../platform/platform";
import { recoverInterruptedCopy } from "../copy/stagingCopy";
import * as standby from "../standby/hot/replication";
import { machineMoved, sameData } from "../providers/diffs";
import type { z as zod, ZodType } from "zod";
import { absolutePath, CrudMethods, declaredClass, defineResource, rule } from "../providers/kit";
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
    /** The other machine it runs on, over SSH; moving it to another address replaces it. @default the deploying machine */
    readonly machine?: pulumi.Input<RemoteMachine>;
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

/** Whether a server answers now: one stopped behind Pulumi's back is drift (unreadable counts as stopped). */
function isRunning(props: ServerInputs): boolean {
    try {
        return cluster.clusterStatus(cluster.locationOf(props)) === "running";
    } catch {
        return false;
    }
}

/** Absolute folders, a port PostgreSQL may use unprivileged, setting names that cannot break the file, a standby's upstream. */
function serverSchema(z: typeof zod): ZodType {
    return z
        .looseObject({
            binDir: absolutePath(z),
            serverDir: absolutePath(z),
            port: rule(
                z,
                (port) => Number.isInteger(port) && (port as number) >= 1024 && (port as number) <= 65535,
                (port) => `${JSON.stringify(port)} is not a port from 1024 to 65535`,
            ),
            settings: z.unknown().superRefine((settings, ctx) => {
                for (const name of Object.keys(settings ?? {})) {
                    if (!/^[a-z_][a-z0-9_.]*$/.test(name)) {
                        ctx.addIssue({ code: "custom", message: `${JSON.stringify(name)} is not a PostgreSQL setting name` });
                    }
                }
            }),
        })
        .superRefine((inputs, ctx) => {
            const { role, upstream } = inputs as Partial<ServerInputs>;
            if (role === "standby" && upstream === undefined) {
                ctx.addIssue({ code: "custom", path: ["upstream"], message: "a declared standby needs the endpoint of the declared primary" });
            }
        });
}

const serverMethods: CrudMethods<ServerInputs, ServerOutputs> = {
    async create(inputs) {
        const path = require("path") as typeof import("path");
        const loc = cluster.locationOf(inputs);
        const host = cluster.hostOfServer(loc);
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
        const createdDir = !host.exists(inputs.serverDir);
        try {
            // The server's folder alone is given to its user (not parents made on the way).
            host.makeFolder(inputs.serverDir, { mode: 0o700, owned: false });
            host.giveToServerUser(inputs.serverDir);
            cluster.assertServerUserCanReach(loc, inputs.serverDir);
            const initdb = await newCluster(inputs, passwords.superuser);
            // A new cluster starts as its own primary, whatever its declared role (PrimaryRole acts on that).
            const outs = { ...(await converge({ ...inputs, role: "primary" }, passwords, "none")), role: inputs.role };
            // The marker comes last: a folder without it was never a finished server.
            const marker: cluster.ServerMarker = { owner: inputs.owner, server: inputs.serverName, createdAt: new Date().toISOString(), initdb };
            // 0666 before the umask and the deployer's: the mode and owner a plain write gave it.
            host.writeFile(path.join(inputs.serverDir, cluster.SERVER_MARKER), JSON.stringify(marker, null, 2) + "\n", { mode: 0o666, owned: false });
            return { id: inputs.serverDir, outs };
        } catch (err) {
            // Leave nothing half-made behind: the next `up` starts from scratch.
            try {
                cluster.stopCluster(loc);
            } catch {
                // it never started
            }
            if (createdDir) {
                host.remove(inputs.serverDir);
            } else {
                host.remove(cluster.dataDirOf(loc));
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
        cluster.ensureHba(loc); // its host's admitted networks may have changed
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
        const path = require("path") as typeof import("path");
        const loc = cluster.locationOf(props);
        const host = cluster.hostOfServer(loc);
        const markerPath = path.join(props.serverDir, cluster.SERVER_MARKER);
        if (host.exists(markerPath)) {
            await recoverInterruptedCopy(loc); // so the server that is stopped is the real one
        }
        if (!host.exists(markerPath)) {
            cluster.stopCluster(loc); // whatever is left there is not ours to remove
            return;
        }
        const marker = JSON.parse(host.readText(markerPath)) as cluster.ServerMarker;
        if (marker.owner !== props.owner || marker.server !== props.serverName) {
            return; // taken over by another stack since: leave it alone
        }
        cluster.stopCluster(loc);
        if (!props.retain) {
            host.remove(props.serverDir);
        }
    },
};

export const postgresServer = defineResource<ServerInputs, ServerOutputs>(
    {
        module: "stagewise", type: "PostgresServer", version: PROVIDER_VERSION,
        schema: serverSchema,
        defaults: { host: "127.0.0.1", settings: {}, retain: false, role: "primary" },
        replaces: ["serverDir", "port", "osUser"],
        updates: ["serverName", "owner", "binDir", "host", "settings", "ownerRole", "databases", "retain", "role", "upstream", "machine"],
        // Passwords left to the provider stay as generated; given ones replace them.
        whenGiven: ["superuserPassword", "applicationPassword"],
        // Drift: a server stopped behind Pulumi's back shows in every preview, and `up` starts it. What
        // counts is whether it runs now: one recorded stopped while fenced in a failover was started
        // since, as a standby, by the PrimaryRole (in the same up), and has nothing left to do.
        // (Preview shows a stopped server as an update with no input changed; `refresh` shows running.)
        diffRules: (olds, news) => ({ changed: isRunning(olds) ? [] : ["running"], replaced: machineMoved(olds.machine, news.machine) ? ["machine"] : [] }),
        deleteBeforeReplace: true,
        secretInputs: ["machine"],
        secretOutputs: ["superuserPassword", "applicationPassword", "machine"],
        // Present even when not given, so the generated passwords come back as (secret) outputs.
        outputs: ["superuserPassword", "applicationPassword", "running", "startedAt", "systemIdentifier", "serverVersion", "lastSettingsChange"],
    },
    serverMethods,
);

export const postgresServerProvider = postgresServer.provider;

/** A PostgreSQL server on this machine. */
export class PostgresServer extends declaredClass<PostgresServerArgs, ServerOutputs, "serverName" | "host" | "port" | "serverDir" | "superuserPassword" | "applicationPassword" | "running" | "startedAt" | "systemIdentifier" | "serverVersion" | "lastSettingsChange">(postgresServer) {}
