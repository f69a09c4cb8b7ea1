// A stage resolved once from its validated configuration: who its members are, what each one is
// (server or hot, warm, cold standby), where it listens and keeps its data, who the declared primary
// is, where each engine database lives, and the log-shipping plan. Pure: no Pulumi, no file system
// (the places on the host are an input, resolved by topology/hostPaths.ts), unit-tested on its own.
import * as path from "path";
import { databasesOf, settingsText } from "../config/config";
import type { StageConfig } from "../config/config";
import type { DatabaseRole, EngineTables } from "../engine/referenceSchema";
import { parseQualifiedName } from "../engine/tables";
import { archiveSettings, planLogShipping, ShippingPlan } from "../shipping/schedule";
import type { RemoteMachine } from "../platform/platform";
import { declaredPrimary, failoverOrder, ReplicationMember, serverRole, synchronousMembers } from "../standby/hot/roles";

/** Where a stage's servers live on one host, and who runs them. */
export interface HostPaths {
    /** Folder of the PostgreSQL programs the deployer runs (initdb, pg_ctl, psql, ...). */
    readonly binDir: string;
    /** Folder holding each member's folder (named after the member); undefined where the platform keeps the data (docker volumes). */
    readonly dataRoot: string | undefined;
    /** OS user running the servers when the deployer is root. */
    readonly osUser: string | undefined;
    /** The places on each of `hosts` that members name (resolved over SSH). @default {} */
    readonly hosts?: Readonly<Record<string, RemotePlaces>>;
}

/** A machine of `hosts`, and where the stage's servers live on it. */
export interface RemotePlaces {
    readonly machine: RemoteMachine;
    readonly binDir: string;
    readonly dataRoot: string;
    readonly osUser: string;
    /** What `postgres --version` printed there. */
    readonly postgresVersion: string;
}

export type Tier = "server" | "hot" | "warm" | "cold";

/** One member of a stage: a server of its own or a standby of production's server. */
export interface Member {
    readonly name: string;
    readonly tier: Tier;
    /** The address it listens on: a loopback address here, or its machine's address. */
    readonly host: string;
    /** The other machine it runs on (over SSH); absent on the deploying machine. */
    readonly machine?: RemoteMachine;
    /** Folder of the PostgreSQL programs on its host. */
    readonly binDir: string;
    /** OS user running it on its host (when it is not the deployer). */
    readonly osUser: string | undefined;
    /** Absent for a cold standby (no server until cutover). */
    readonly port: number | undefined;
    /** The member's folder (its data directory is `pgdata/` inside); absent on docker. */
    readonly serverDir: string | undefined;
    /** The user's postgresql.conf settings, as text. */
    readonly settings: Readonly<Record<string, string>>;
    /** A hot standby the primary waits for on commit. */
    readonly synchronous: boolean;
    /** The engine databases it holds (servers only). */
    readonly databases: readonly DatabaseRole[];
    /** A server's data is kept when the server is deleted (servers only). */
    readonly retain: boolean;
    /** A warm standby's own apply delay (else the shipping plan's). */
    readonly applyDelay?: string;
    /** A cold standby's base backups: how often, and how many are kept. */
    readonly baseBackups?: { readonly interval: string; readonly keep: number };
}

/** Where one of the engine's databases lives. */
export interface DatabasePlacement {
    server: string;
    name: string;
    host: string;
    port: number;
}

/** Production with `shipping`: the plan, production's archive, and the archiving settings of whichever member is the primary. */
export interface Shipping {
    readonly plan: ShippingPlan;
    /** The configured apply delay of warm standbys (shipping.applyDelay), as written. */
    readonly applyDelay: string;
    readonly archive: string;
    readonly archiving: Readonly<Record<string, string>>;
    /**
     * With members of the replication group on more than one machine, each has its own `archive`
     * folder: the members that may act as the primary (the declared one first, lost hosts left out),
     * which shippers on other machines read in turn. Absent otherwise (one archive, or one member).
     */
    readonly archiveSources?: readonly { readonly host: string; readonly port: number }[];
}

export interface StageTopology {
    readonly stack: string;
    readonly kind: StageConfig["stage"];
    readonly platform: StageConfig["platform"];
    readonly paths: HostPaths;
    /** Every member by name, in the configuration's order: the servers, then the standbys. */
    readonly members: Readonly<Record<string, Member>>;
    /** The declared primary of production's replication group (the stage's server unless `primary` names a standby). */
    readonly primary: string;
    /** Application names the primary waits for on commit. */
    readonly synchronous: readonly string[];
    /** The server and its hot standbys, the declared primary first (libpq tries hosts in order). */
    readonly failoverOrder: readonly ReplicationMember[];
    /** The declared role of each of the stage's servers, and whom a standby follows. */
    readonly roles: Readonly<Record<string, { role: "primary" | "standby"; upstream?: { host: string; port: number } }>>;
    /** Where each engine database lives, by role (on the declared primary's address). */
    readonly placements: Readonly<Record<DatabaseRole, DatabasePlacement>>;
    readonly engine: {
        readonly owner: string;
        readonly databases: Readonly<Record<DatabaseRole, string>>;
        readonly tables: EngineTables;
        readonly schema: StageConfig["engine"]["schema"];
    };
    readonly shipping: Shipping | undefined;
    /** Production's data is never replaced or deleted by accident. */
    readonly protect: boolean;
}

/** The stage's members of one tier, in the configuration's order. */
export function membersOf(topology: StageTopology, tier: Tier): Member[] {
    return Object.values(topology.members).filter((m) => m.tier === tier);
}

/** Resolves a validated configuration once; every component reads the result. */
export function resolveStage(declaredConfig: StageConfig, stack: string, paths: HostPaths): StageTopology {
    // Members on hosts listen on their machine's address: every later rule (roles, failover order, placements) reads addresses.
    const config = withAddresses(declaredConfig, paths);
    const root = paths.dataRoot;
    /** Where member `name` lives: on the host it names, else here. */
    const place = (declaredHost: string | undefined, name: string) => {
        const remote = declaredHost === undefined ? undefined : paths.hosts?.[declaredHost];
        if (remote !== undefined) {
            return { machine: remote.machine, binDir: remote.binDir, osUser: remote.osUser, serverDir: path.posix.join(remote.dataRoot, name) };
        }
        return { binDir: paths.binDir, osUser: paths.osUser, serverDir: root === undefined ? undefined : path.join(root, name) };
    };
    const members: Record<string, Member> = {};
    for (const [name, server] of Object.entries(config.servers)) {
        const declaredHost = declaredConfig.servers[name].host;
        members[name] = { name, tier: "server", host: server.host, ...place(declaredHost, name), port: server.port, settings: settingsText(server.settings), synchronous: false, databases: databasesOf(config, name), retain: server.retain };
    }
    for (const [name, standby] of Object.entries(config.standbys)) {
        const served = standby.tier === "cold" ? { host: "127.0.0.1", port: undefined, settings: {} } : { host: standby.host, port: standby.port, settings: settingsText(standby.settings) };
        const declaredStandby = declaredConfig.standbys[name];
        members[name] = {
            name,
            tier: standby.tier,
            ...served,
            ...place(declaredStandby.host, name), // a cold standby's: where its base backups are kept
            synchronous: standby.tier === "hot" && standby.synchronous === true,
            databases: [],
            retain: false,
            ...(standby.tier === "warm" && standby.applyDelay !== undefined ? { applyDelay: standby.applyDelay } : {}),
            ...(standby.tier === "cold" ? { baseBackups: { interval: standby.baseBackupInterval, keep: standby.keepBaseBackups } } : {}),
        };
    }
    // With `shipping`, production's (only) server archives WAL; the schema has checked the plan.
    const planned = config.shipping && config.stage === "production" && root !== undefined ? planLogShipping({ rpo: config.rpo, ...config.shipping }) : undefined;
    // The archive is the primary's own: on its host when the (only) server is on one.
    const serverHost = Object.values(declaredConfig.servers)[0]?.host;
    const serverPlaces = serverHost === undefined ? undefined : paths.hosts?.[serverHost];
    const archive = serverPlaces !== undefined ? path.posix.join(serverPlaces.dataRoot, "wal-archive") : root === undefined ? "" : path.join(root, "wal-archive");
    const roles = Object.fromEntries(Object.keys(config.servers).map((name) => [name, serverRole(config, name)]));
    const group = failoverOrder(config);
    return {
        stack,
        kind: config.stage,
        platform: config.platform,
        paths,
        members,
        primary: declaredPrimary(config),
        synchronous: synchronousMembers(config),
        failoverOrder: group,
        roles,
        placements: placementsOf(config, roles),
        engine: {
            owner: config.engine.owner,
            databases: config.engine.databases,
            // The schema has checked both names.
            tables: { server: parseQualifiedName(config.engine.tables.server)!, licenseKey: parseQualifiedName(config.engine.tables.licenseKey)! },
            schema: config.engine.schema,
        },
        shipping: planned?.ok ? shippingOf(planned.plan, config.shipping!.applyDelay, archive, group.map((m) => members[m.name])) : undefined,
        protect: config.stage === "production",
    };
}

/**
 * Production's shipping. A replication group on several machines archives on each (archive_mode
 * always): a standby's archive then holds the WAL it received, so after a failover the new primary's
 * archive has every segment the lost one archived or sent, and the shippers lose nothing.
 */
function shippingOf(plan: ShippingPlan, applyDelay: string, archive: string, group: Member[]): Shipping {
    const machines = new Set(group.map((m) => m.machine?.name ?? ""));
    if (machines.size < 2) {
        return { plan, applyDelay, archive, archiving: archiveSettings(plan, archive) };
    }
    const archiveSources = group.filter((m) => m.machine?.lost !== true).map((m) => ({ host: m.host, port: m.port! }));
    return { plan, applyDelay, archive, archiving: { ...archiveSettings(plan, archive), archive_mode: "always" }, archiveSources };
}

/** The configuration with each member's `host` that names one of `hosts` replaced by that machine's address. */
function withAddresses(config: StageConfig, paths: HostPaths): StageConfig {
    const addressOf = (host: string) => paths.hosts?.[host]?.machine.address ?? host;
    return {
        ...config,
        servers: Object.fromEntries(Object.entries(config.servers).map(([name, s]) => [name, { ...s, host: addressOf(s.host) }])),
        standbys: Object.fromEntries(Object.entries(config.standbys).map(([name, s]) => [name, s.tier === "cold" ? s : { ...s, host: addressOf(s.host) }])),
    };
}

/** Where each engine database lives: on the server that lists it (the schema has checked there is one), writable where the declared primary is. */
function placementsOf(config: StageConfig, roles: StageTopology["roles"]): Record<DatabaseRole, DatabasePlacement> {
    const placements: Partial<Record<DatabaseRole, DatabasePlacement>> = {};
    for (const [serverName, server] of Object.entries(config.servers)) {
        for (const role of databasesOf(config, serverName)) {
            const { host, port } = roles[serverName].upstream ?? server;
            placements[role] = { server: serverName, name: config.engine.databases[role], host, port };
        }
    }
    return placements as Record<DatabaseRole, DatabasePlacement>;
}

