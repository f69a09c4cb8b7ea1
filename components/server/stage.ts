// Stage: one environment of the engine (production, development or test) and its database servers.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { databasesOf, settingsText, StageConfig } from "../config/config";
import { DATABASE_ROLES, DatabaseRole, EngineTables, referenceSchemaSql } from "../engine/referenceSchema";
import { parseQualifiedName } from "../engine/tables";
import { findPostgresBinDir, resolveDataRoot, serverOsUser, SHARED_DATA_BASE } from "../platform/local";
import { DockerServer } from "../platform/dockerServer";
import { DataRoot } from "./dataRoot";
import { PostgresServer } from "./postgresServer";
import { serverRole } from "../standby/hot/roles";
import { WalArchive } from "../shipping/walArchive";
import { archiveSettings, planLogShipping, ShippingPlan } from "../shipping/schedule";

export interface StageArgs {
    /** The stack's validated configuration. */
    readonly config: StageConfig;
    /** Folder that relative paths in the configuration are resolved against. @default process.cwd() */
    readonly projectDir?: string;
}

/** Where one of the engine's databases lives. */
export interface DatabasePlacement {
    server: string;
    name: string;
    host: string;
    port: number;
}

export class Stage extends pulumi.ComponentResource {
    /** production | development | test */
    public readonly kind: StageConfig["stage"];
    /** Absolute path of the folder holding the stage's server data (as claimed by its DataRoot). */
    public readonly dataRoot: pulumi.Output<string>;
    /** The same path, known while the graph is built. */
    public readonly dataRootPath: string;
    /** Folder of the PostgreSQL programs the stage runs. */
    public readonly postgresBinDir: string;
    /** OS user running the stage's servers (when deploying as root). */
    public readonly osUser: string | undefined;
    /** The tables later features act on (engine.tables), parsed. */
    public readonly tables: EngineTables;
    /** What `postgres --version` printed on the deploying machine. */
    public readonly postgresVersion: pulumi.Output<string>;
    /** The stage's servers, by their stable names (PostgresServer locally, DockerServer on Docker). */
    public readonly servers: Record<string, StageServer>;
    /** Where each engine database lives, by role. */
    public readonly databases: Record<DatabaseRole, DatabasePlacement>;
    /** Production with `shipping`: the folder its primary archives WAL into, and the resource that made it. */
    public readonly walArchive: { path: string; resource: WalArchive } | undefined;
    /** With `shipping`: the archiving settings of whichever member is the primary (standbys keep them for a role change). */
    public readonly archiving: Record<string, string>;
    /** Production with `shipping`: the log-shipping plan, worked out once (shipping/schedule.ts) for every component that ships. */
    public readonly shippingPlan: ShippingPlan | undefined;
    /** libpq connection string of each engine database for the owner role (secret). Gated by `waitFor`. */
    public connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;

    constructor(name: string, args: StageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:index:Stage", name, {}, opts);
        const { config } = args;
        this.kind = config.stage;
        const platform = config.platform;
        try {
            this.postgresBinDir = findPostgresBinDir(platform.binDir);
        } catch (err) {
            throw new pulumi.ResourceError((err as Error).message, this);
        }
        // The schema has checked both names.
        const tables = {
            server: parseQualifiedName(config.engine.tables.server)!,
            licenseKey: parseQualifiedName(config.engine.tables.licenseKey)!,
        };
        this.tables = tables;
        this.databases = placementsOf(config);
        if (platform.kind === "docker") {
            const network = new docker.Network(`${name}-network`, { name: `${pulumi.getProject()}-${pulumi.getStack()}` }, { parent: this });
            this.servers = Object.fromEntries(
                Object.entries(config.servers).map(([serverName, server]) => [
                    serverName,
                    new DockerServer(
                        `${name}-${serverName}`,
                        {
                            serverName,
                            image: platform.image,
                            network,
                            host: server.host,
                            port: server.port,
                            settings: settingsText(server.settings),
                            superuserPassword: pulumi.secret(config.superuserPassword!), // the schema requires both on docker
                            applicationPassword: pulumi.secret(config.applicationPassword!),
                            ownerRole: config.engine.owner,
                            databases: databasesOf(config, serverName).map((role) => ({
                                name: config.engine.databases[role],
                                schemaSql: config.engine.schema === "reference" ? referenceSchemaSql(role, tables) : "",
                            })),
                            binDir: this.postgresBinDir,
                            retain: server.retain,
                        },
                        { parent: this, protect: config.stage === "production" },
                    ),
                ]),
            );
            this.osUser = undefined;
            this.dataRootPath = "";
            this.dataRoot = pulumi.output(`docker volumes of network ${pulumi.getProject()}-${pulumi.getStack()}`);
            this.postgresVersion = pulumi.output(`image ${platform.image}`);
            this.walArchive = undefined;
            this.archiving = {};
            this.shippingPlan = undefined;
            this.connectionStrings = connectionStringsOf(config, this.servers, this.databases);
            this.registerOutputs({ kind: this.kind, servers: Object.keys(this.servers), databases: this.databases });
            return;
        }
        const osUser = serverOsUser(platform.osUser);
        this.osUser = osUser;
        const rootPath = resolveDataRoot(platform.dataRoot, pulumi.getStack(), args.projectDir, osUser);
        this.dataRootPath = rootPath;
        if (platform.dataRoot === undefined && rootPath.startsWith(SHARED_DATA_BASE + path.sep)) {
            pulumi.log.info(
                `data root: ${rootPath} (the servers' OS user ${osUser} cannot enter this project's folder; set platform.dataRoot to choose another place)`,
                this,
            );
        }
        const owner = `${pulumi.getProject()}/${pulumi.getStack()}`;

        const dataRoot = new DataRoot(`${name}-data`, { path: rootPath, owner, stage: config.stage, osUser }, { parent: this });
        this.dataRoot = dataRoot.path;

        // Proves the programs run here, and records which PostgreSQL the stage is built with.
        const postgresCheck = new command.local.Command(
            `${name}-postgres-version`,
            {
                create: '"$PG_BINDIR/postgres" --version',
                environment: { PG_BINDIR: this.postgresBinDir },
                triggers: [this.postgresBinDir],
            },
            { parent: this },
        );
        this.postgresVersion = postgresCheck.stdout;

        const secretOrUndefined = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));
        const protect = config.stage === "production"; // production data is never replaced or deleted by accident
        // With `shipping`, production's (only) server archives WAL; the schema has checked the plan.
        const plan = config.shipping && config.stage === "production" ? planLogShipping({ rpo: config.rpo, ...config.shipping }) : undefined;
        const archivePath = path.join(rootPath, "wal-archive");
        this.walArchive = plan?.ok
            ? { path: archivePath, resource: new WalArchive(`${name}-wal-archive`, { path: archivePath, osUser, retain: Object.values(config.servers)[0].retain }, { parent: this, dependsOn: [dataRoot], protect }) }
            : undefined;
        this.shippingPlan = plan?.ok ? plan.plan : undefined;
        const archiving = plan?.ok ? archiveSettings(plan.plan, archivePath) : {};
        this.archiving = archiving;

        const servers: Record<string, PostgresServer> = {};
        this.servers = servers;
        for (const [serverName, server] of Object.entries(config.servers)) {
            const roles = databasesOf(config, serverName);
            servers[serverName] = new PostgresServer(
                `${name}-${serverName}`,
                {
                    serverName,
                    owner,
                    binDir: this.postgresBinDir,
                    serverDir: path.join(rootPath, serverName),
                    host: server.host,
                    port: server.port,
                    osUser,
                    settings: { ...archiving, ...settingsText(server.settings) }, // the user's settings win
                    ownerRole: config.engine.owner,
                    databases: roles.map((role) => ({
                        name: config.engine.databases[role],
                        schemaSql: config.engine.schema === "reference" ? referenceSchemaSql(role, tables) : "",
                    })),
                    superuserPassword: secretOrUndefined(config.superuserPassword),
                    applicationPassword: secretOrUndefined(config.applicationPassword),
                    retain: server.retain,
                    // Production with hot standbys: declared a standby once `primary` names another member.
                    ...serverRole(config, serverName),
                },
                { parent: this, dependsOn: [dataRoot, ...(this.walArchive ? [this.walArchive.resource] : [])], protect },
            );
        }
        this.connectionStrings = connectionStringsOf(config, this.servers, this.databases);

        this.registerOutputs({
            kind: this.kind,
            dataRoot: this.dataRoot,
            postgresVersion: this.postgresVersion,
            servers: Object.keys(this.servers),
            databases: this.databases,
            connectionStrings: this.connectionStrings,
        });
    }

    /**
     * Makes everything that connects through `connectionStrings` from now on wait for `gate` (production's
     * role change: nothing writes to a member that is about to be promoted or demoted).
     */
    public waitFor(gate: pulumi.CustomResource): void {
        this.connectionStrings = pulumi.secret(pulumi.all([this.connectionStrings, gate.id]).apply(([cs]) => cs));
    }
}

/** What the rest of the program uses of a server, whichever platform runs it. */
export type StageServer = pulumi.Resource &
    Pick<PostgresServer, "host" | "port" | "superuserPassword" | "applicationPassword" | "running" | "startedAt" | "systemIdentifier" | "serverVersion">;

/** Where each engine database lives: on the server that lists it (the schema has checked there is one). */
function placementsOf(config: StageConfig): Record<DatabaseRole, DatabasePlacement> {
    const placements: Partial<Record<DatabaseRole, DatabasePlacement>> = {};
    for (const [serverName, server] of Object.entries(config.servers)) {
        for (const role of databasesOf(config, serverName)) {
            // Writable where the declared primary is (the server's own address unless `primary` names a standby).
            const { host, port } = serverRole(config, serverName).upstream ?? server;
            placements[role] = { server: serverName, name: config.engine.databases[role], host, port };
        }
    }
    return placements as Record<DatabaseRole, DatabasePlacement>;
}

/** libpq URL of each engine database for the owner role (a secret: it carries the password). */
function connectionStringsOf(config: StageConfig, servers: Record<string, StageServer>, databases: Record<DatabaseRole, DatabasePlacement>) {
    const passwords = Object.fromEntries(Object.entries(servers).map(([n, s]) => [n, s.applicationPassword]));
    return pulumi.secret(
        pulumi.all(passwords).apply((byServer) =>
            Object.fromEntries(
                DATABASE_ROLES.map((role) => {
                    const p = databases[role];
                    const password = encodeURIComponent(byServer[p.server]);
                    return [role, `postgresql://${config.engine.owner}:${password}@${hostForUrl(p.host)}:${p.port}/${p.name}`];
                }),
            ) as Record<DatabaseRole, string>,
        ),
    );
}

function hostForUrl(host: string): string {
    return host.includes(":") ? `[${host}]` : host;
}
