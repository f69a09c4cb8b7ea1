// Who is primary in production's replication group (the server and its hot standbys), which
// standbys are synchronous, and in what order clients try the members. Pure functions of the
// configuration, unit-tested without mocks.
import type { StageConfig, StandbyConfig } from "../../config/config";

export interface ReplicationMember {
    name: string;
    /** The stage's server or one of its hot standbys. */
    kind: "server" | "standby";
    host: string;
    port: number;
    /** Declared synchronous (hot standbys only; the server is an asynchronous standby when not primary). */
    synchronous: boolean;
}

type HotEntry = Extract<StandbyConfig, { tier: "hot" }>;

function hotStandbys(config: StageConfig): [string, HotEntry][] {
    return Object.entries(config.standbys).filter((entry): entry is [string, HotEntry] => entry[1].tier === "hot");
}

/** The server first, then the hot standbys in the order the configuration lists them. */
export function replicationMembers(config: StageConfig): ReplicationMember[] {
    const [serverName, server] = Object.entries(config.servers)[0];
    return [
        { name: serverName, kind: "server" as const, host: server.host, port: server.port, synchronous: false },
        ...hotStandbys(config).map(([name, s]) => ({ name, kind: "standby" as const, host: s.host, port: s.port, synchronous: s.synchronous === true })),
    ];
}

/** The declared primary: `primary`, or the stage's server. */
export function declaredPrimary(config: StageConfig): string {
    return config.primary ?? Object.keys(config.servers)[0];
}

/** Application names the primary waits for on commit: the synchronous standbys that are not the primary. */
export function synchronousMembers(config: StageConfig): string[] {
    const primary = declaredPrimary(config);
    return replicationMembers(config)
        .filter((m) => m.synchronous && m.name !== primary)
        .map((m) => m.name);
}

/** The members with the declared primary first (libpq tries hosts in order). */
export function failoverOrder(config: StageConfig): ReplicationMember[] {
    const primary = declaredPrimary(config);
    const members = replicationMembers(config);
    return [...members.filter((m) => m.name === primary), ...members.filter((m) => m.name !== primary)];
}

/** Where the declared primary listens. */
export function primaryEndpoint(config: StageConfig): { name: string; host: string; port: number } {
    const primary = replicationMembers(config).find((m) => m.name === declaredPrimary(config))!;
    return { name: primary.name, host: primary.host, port: primary.port };
}

/** The declared role of a stage's server: its PostgresServer starts it only in that role. */
export function serverRole(config: StageConfig, serverName: string): { role: "primary" | "standby"; upstream?: { host: string; port: number } } {
    // Without `primary`, every server of a stage is its own primary (stages with several servers have no standbys).
    if (config.primary === undefined || config.primary === serverName) {
        return { role: "primary" };
    }
    const { host, port } = primaryEndpoint(config);
    return { role: "standby", upstream: { host, port } };
}
