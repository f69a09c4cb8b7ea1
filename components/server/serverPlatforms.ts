// How each platform makes a stage's servers: on the local platform a DataRoot claims the stage's
// folder and each server is a PostgresServer in it (with production's WAL archive when it ships);
// on docker each server is a container on the stage's network. Stage asks the one its topology names.
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { referenceSchemaSql } from "../engine/referenceSchema";
import { DockerServer } from "../platform/dockerServer";
import type { PlatformKind } from "../platform/platform";
import { WalArchive } from "../shipping/walArchive";
import type { Member, StageTopology } from "../topology/topology";
import { DataRoot } from "./dataRoot";
import { PostgresServer } from "./postgresServer";

/** What the rest of the program uses of a server, whichever platform runs it. */
export type StageServer = pulumi.Resource &
    Pick<PostgresServer, "host" | "port" | "superuserPassword" | "applicationPassword" | "running" | "startedAt" | "systemIdentifier" | "serverVersion">;

export interface Passwords {
    readonly superuserPassword?: string;
    readonly applicationPassword?: string;
}

/** What a platform made for a stage. */
export interface StageServers {
    /** Where the data is, as the `dataRoot` output says it. */
    dataRoot: pulumi.Output<string>;
    /** What runs the servers (`postgres --version`, or the image). */
    postgresVersion: pulumi.Output<string>;
    servers: Record<string, StageServer>;
    walArchive: { path: string; resource: WalArchive } | undefined;
}

const secretOrUndefined = (value: string | undefined) => (value === undefined ? undefined : pulumi.secret(value));

function databasesOf(topology: StageTopology, member: Member) {
    return member.databases.map((role) => ({ name: topology.engine.databases[role], schemaSql: topology.engine.schema === "reference" ? referenceSchemaSql(role, topology.engine.tables) : "" }));
}

/** The local platform: the stage's folder, production's WAL archive when it ships, a PostgresServer per server. */
export function localServers(parent: pulumi.Resource, name: string, topology: StageTopology, passwords: Passwords): StageServers {
    const paths = topology.paths;
    const rootPath = paths.dataRoot!; // the local platform always has one
    const owner = `${pulumi.getProject()}/${pulumi.getStack()}`;
    const protect = topology.protect;
    const dataRoot = new DataRoot(`${name}-data`, { path: rootPath, owner, stage: topology.kind, osUser: paths.osUser }, { parent });
    // Proves the programs run here, and records which PostgreSQL the stage is built with.
    const postgresCheck = new command.local.Command(
        `${name}-postgres-version`,
        { create: '"$PG_BINDIR/postgres" --version', environment: { PG_BINDIR: paths.binDir }, triggers: [paths.binDir] },
        { parent },
    );
    const serverMembers = Object.values(topology.members).filter((m) => m.tier === "server");
    const shipping = topology.shipping;
    const walArchive = shipping
        ? { path: shipping.archive, resource: new WalArchive(`${name}-wal-archive`, { path: shipping.archive, osUser: paths.osUser, retain: serverMembers[0].retain }, { parent, dependsOn: [dataRoot], protect }) }
        : undefined;
    const servers: Record<string, StageServer> = {};
    for (const member of serverMembers) {
        servers[member.name] = new PostgresServer(
            `${name}-${member.name}`,
            {
                serverName: member.name,
                owner,
                binDir: paths.binDir,
                serverDir: member.serverDir!,
                host: member.host,
                port: member.port!,
                osUser: paths.osUser,
                settings: { ...(shipping?.archiving ?? {}), ...member.settings }, // the user's settings win
                ownerRole: topology.engine.owner,
                databases: databasesOf(topology, member),
                superuserPassword: secretOrUndefined(passwords.superuserPassword),
                applicationPassword: secretOrUndefined(passwords.applicationPassword),
                retain: member.retain,
                // Production with hot standbys: declared a standby once `primary` names another member.
                ...topology.roles[member.name],
            },
            { parent, dependsOn: [dataRoot, ...(walArchive ? [walArchive.resource] : [])], protect },
        );
    }
    return { dataRoot: dataRoot.path, postgresVersion: postgresCheck.stdout, servers, walArchive };
}

/** The docker platform: a network for the stage and a container per server (servers only, with given passwords). */
export function dockerServers(parent: pulumi.Resource, name: string, topology: StageTopology, passwords: Passwords): StageServers {
    const image = topology.platform.kind === "docker" ? topology.platform.image : "";
    const networkName = `${pulumi.getProject()}-${pulumi.getStack()}`;
    const network = new docker.Network(`${name}-network`, { name: networkName }, { parent });
    const servers: Record<string, StageServer> = {};
    for (const member of Object.values(topology.members).filter((m) => m.tier === "server")) {
        servers[member.name] = new DockerServer(
            `${name}-${member.name}`,
            {
                serverName: member.name,
                image,
                network,
                host: member.host,
                port: member.port!,
                settings: { ...member.settings },
                superuserPassword: pulumi.secret(passwords.superuserPassword!), // the configuration check requires both on docker
                applicationPassword: pulumi.secret(passwords.applicationPassword!),
                ownerRole: topology.engine.owner,
                databases: databasesOf(topology, member),
                binDir: topology.paths.binDir,
                retain: member.retain,
            },
            { parent, protect: topology.protect },
        );
    }
    return { dataRoot: pulumi.output(`docker volumes of network ${networkName}`), postgresVersion: pulumi.output(`image ${image}`), servers, walArchive: undefined };
}

/** Each platform's way of making a stage's servers. */
export const SERVER_MAKERS: Record<PlatformKind, (parent: pulumi.Resource, name: string, topology: StageTopology, passwords: Passwords) => StageServers> = {
    local: localServers,
    docker: dockerServers,
};
