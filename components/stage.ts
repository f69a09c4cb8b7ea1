// Stage: one environment of the engine (production, development or test) and its database servers.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { databasesOf, settingsText, StageConfig } from "./config";
import { DATABASE_ROLES, DatabaseRole, EngineTables, referenceSchemaSql } from "./engine/referenceSchema";
import { parseQualifiedName } from "./engine/tables";
import { findPostgresBinDir, resolveDataRoot, serverOsUser } from "./platform/local";
import { DataRoot } from "./providers/dataRoot";
import { PostgresServer } from "./providers/postgresServer";
import { WalArchive } from "./providers/walArchive";
import { archiveSettings, planLogShipping } from "./standby/schedule";

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
    /** The stage's servers, by their stable names. */
    public readonly servers: Record<string, PostgresServer>;
    /** Where each engine database lives, by role. */
    public readonly databases: Record<DatabaseRole, DatabasePlacement>;
    /** Production with `shipping`: the folder its primary archives WAL into, and the resource that made it. */
    public readonly walArchive: { path: string; resource: WalArchive } | undefined;
    /** libpq connection string of each engine database for the owner role (secret). */
    public readonly connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;

    constructor(name: string, args: StageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:index:Stage", name, {}, opts);
        const { config } = args;
        this.kind = config.stage;
        if (config.platform.kind !== "local") {
            throw new pulumi.ResourceError(`platform.kind "${config.platform.kind}" is not available yet (use "local")`, this);
        }
        const platform = config.platform;
        try {
            this.postgresBinDir = findPostgresBinDir(platform.binDir);
        } catch (err) {
            throw new pulumi.ResourceError((err as Error).message, this);
        }
        const osUser = serverOsUser(platform.osUser);
        this.osUser = osUser;
        const rootPath = resolveDataRoot(platform.dataRoot, pulumi.getStack(), args.projectDir);
        this.dataRootPath = rootPath;
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

        // The schema has checked both names.
        const tables = {
            server: parseQualifiedName(config.engine.tables.server)!,
            licenseKey: parseQualifiedName(config.engine.tables.licenseKey)!,
        };
        this.tables = tables;
        const secretOrUndefined = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));
        const protect = config.stage === "production"; // production data is never replaced or deleted by accident
        // With `shipping`, production's (only) server archives WAL; the schema has checked the plan.
        const plan = config.shipping && config.stage === "production" ? planLogShipping({ rpo: config.rpo, ...config.shipping }) : undefined;
        const archivePath = path.join(rootPath, "wal-archive");
        this.walArchive = plan?.ok
            ? { path: archivePath, resource: new WalArchive(`${name}-wal-archive`, { path: archivePath, osUser, retain: Object.values(config.servers)[0].retain }, { parent: this, dependsOn: [dataRoot], protect }) }
            : undefined;
        const archiving = plan?.ok ? archiveSettings(plan.plan, archivePath) : {};

        this.servers = {};
        const placements: Partial<Record<DatabaseRole, DatabasePlacement>> = {};
        for (const [serverName, server] of Object.entries(config.servers)) {
            const roles = databasesOf(config, serverName);
            this.servers[serverName] = new PostgresServer(
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
                },
                { parent: this, dependsOn: [dataRoot, ...(this.walArchive ? [this.walArchive.resource] : [])], protect },
            );
            for (const role of roles) {
                placements[role] = { server: serverName, name: config.engine.databases[role], host: server.host, port: server.port };
            }
        }
        this.databases = placements as Record<DatabaseRole, DatabasePlacement>;

        const passwords = Object.fromEntries(Object.entries(this.servers).map(([n, s]) => [n, s.applicationPassword]));
        this.connectionStrings = pulumi.secret(
            pulumi.all(passwords).apply((byServer) =>
                Object.fromEntries(
                    DATABASE_ROLES.map((role) => {
                        const p = this.databases[role];
                        const password = encodeURIComponent(byServer[p.server]);
                        return [role, `postgresql://${config.engine.owner}:${password}@${hostForUrl(p.host)}:${p.port}/${p.name}`];
                    }),
                ) as Record<DatabaseRole, string>,
            ),
        );

        this.registerOutputs({
            kind: this.kind,
            dataRoot: this.dataRoot,
            postgresVersion: this.postgresVersion,
            servers: Object.keys(this.servers),
            databases: this.databases,
            connectionStrings: this.connectionStrings,
        });
    }
}

function hostForUrl(host: string): string {
    return host.includes(":") ? `[${host}]` : host;
}
