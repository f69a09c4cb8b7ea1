// Stage: one environment of the engine (production, development or test) and its database servers,
// made by the platform its topology names (server/serverPlatforms.ts).
import * as pulumi from "@pulumi/pulumi";
import { DATABASE_ROLES, DatabaseRole, EngineTables } from "../engine/referenceSchema";
import { hostForUrl } from "../postgres/pg";
import type { ShippingPlan } from "../shipping/schedule";
import type { WalArchive } from "../shipping/walArchive";
import type { DatabasePlacement, StageTopology } from "../topology/topology";
import { Passwords, SERVER_MAKERS, StageServer } from "./serverPlatforms";

export type { DatabasePlacement } from "../topology/topology";
export type { StageServer } from "./serverPlatforms";

export interface StageArgs extends Passwords {
    /** The stage, resolved once (topology/topology.ts). */
    readonly topology: StageTopology;
    /** The default data root was moved because the servers' OS user cannot enter the project's folder (said once, at info level). @default false */
    readonly dataRootMoved?: boolean;
}

export class Stage extends pulumi.ComponentResource {
    /** production | development | test */
    public readonly kind: StageTopology["kind"];
    /** The stage, resolved once. */
    public readonly topology: StageTopology;
    /** Where the stage's server data is (as claimed by its DataRoot), or the docker volumes. */
    public readonly dataRoot: pulumi.Output<string>;
    /** The local data root, known while the graph is built ("" where the platform keeps the data). */
    public readonly dataRootPath: string;
    /** Folder of the PostgreSQL programs the stage runs. */
    public readonly postgresBinDir: string;
    /** OS user running the stage's servers (when deploying as root). */
    public readonly osUser: string | undefined;
    /** The tables later features act on (engine.tables), parsed. */
    public readonly tables: EngineTables;
    /** What `postgres --version` printed on the deploying machine (or the image on docker). */
    public readonly postgresVersion: pulumi.Output<string>;
    /** The stage's servers, by their stable names. */
    public readonly servers: Record<string, StageServer>;
    /** Where each engine database lives, by role. */
    public readonly databases: Readonly<Record<DatabaseRole, DatabasePlacement>>;
    /** Production with `shipping`: the folder its primary archives WAL into, and the resource that made it. */
    public readonly walArchive: { path: string; resource: WalArchive } | undefined;
    /** With `shipping`: the archiving settings of whichever member is the primary (standbys keep them for a role change). */
    public readonly archiving: Readonly<Record<string, string>>;
    /** Production with `shipping`: the log-shipping plan (worked out once, in the topology). */
    public readonly shippingPlan: ShippingPlan | undefined;
    /** libpq connection string of each engine database for the owner role (secret). Writers wait for a role change: see `writesAfter`. */
    public readonly connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;

    constructor(name: string, args: StageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:index:Stage", name, {}, opts);
        const { topology } = args;
        this.topology = topology;
        this.kind = topology.kind;
        this.postgresBinDir = topology.paths.binDir;
        this.osUser = topology.paths.osUser;
        this.dataRootPath = topology.paths.dataRoot ?? "";
        this.tables = topology.engine.tables;
        this.databases = topology.placements;
        this.archiving = topology.shipping?.archiving ?? {};
        this.shippingPlan = topology.shipping?.plan;
        if (args.dataRootMoved) {
            pulumi.log.info(
                `data root: ${this.dataRootPath} (the servers' OS user ${this.osUser} cannot enter this project's folder; set platform.dataRoot to choose another place)`,
                this,
            );
        }
        const made = SERVER_MAKERS[topology.platform.kind](this, name, topology, args);
        this.dataRoot = made.dataRoot;
        this.postgresVersion = made.postgresVersion;
        this.servers = made.servers;
        this.walArchive = made.walArchive;
        this.connectionStrings = connectionStringsOf(topology, this.servers);
        this.registerOutputs({
            kind: this.kind,
            ...(topology.platform.kind === "local" ? { dataRoot: this.dataRoot, postgresVersion: this.postgresVersion } : {}),
            servers: Object.keys(this.servers),
            databases: this.databases,
            ...(topology.platform.kind === "local" ? { connectionStrings: this.connectionStrings } : {}),
        });
    }
}

/**
 * `connectionStrings` for writers that must wait for `gate` (production's role change: nothing writes
 * to a member that is about to be promoted or demoted).
 */
export function writesAfter(connectionStrings: pulumi.Output<Record<DatabaseRole, string>>, gate: pulumi.CustomResource | undefined): pulumi.Output<Record<DatabaseRole, string>> {
    return gate ? pulumi.secret(pulumi.all([connectionStrings, gate.id]).apply(([cs]) => cs)) : connectionStrings;
}

/** libpq URL of each engine database for the owner role (a secret: it carries the password). */
function connectionStringsOf(topology: StageTopology, servers: Record<string, StageServer>) {
    const passwords = Object.fromEntries(Object.entries(servers).map(([n, s]) => [n, s.applicationPassword]));
    return pulumi.secret(
        pulumi.all(passwords).apply((byServer) =>
            Object.fromEntries(
                DATABASE_ROLES.map((role) => {
                    const p = topology.placements[role];
                    return [role, `postgresql://${topology.engine.owner}:${encodeURIComponent(byServer[p.server])}@${hostForUrl(p.host)}:${p.port}/${p.name}`];
                }),
            ) as Record<DatabaseRole, string>,
        ),
    );
}
