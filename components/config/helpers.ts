// Small facts derived from a validated stage configuration. They read the configuration by its
// structure, not by the schema's types, so the checks can use them without importing the schema.
import { DATABASE_ROLES } from "../engine/referenceSchema";

type DatabaseRole = (typeof DATABASE_ROLES)[number];

/** The members of a stage that these facts read: servers, and standbys on production. */
export interface Members {
    servers: Record<string, { port: number; host?: string; databases?: readonly DatabaseRole[] }>;
    /** A hot or warm standby has a port; a cold one has no server. @default {} */
    standbys?: Record<string, { port: number; host?: string } | object>;
}

/** postgresql.conf settings as the text PostgreSQL reads (numbers and booleans written out). */
export function settingsText(settings: Record<string, string | number | boolean>): Record<string, string> {
    return Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, String(value)]));
}

/** A key given with something in it (an empty map counts as not given). */
export const declared = (value: unknown) => value !== undefined && !(typeof value === "object" && value !== null && Object.keys(value).length === 0);

/** The database roles each server holds: all of them on a stage's only server, else as listed. */
export function databasesOf(config: Pick<Members, "servers">, server: string): DatabaseRole[] {
    const listed = config.servers[server].databases;
    return listed ? [...listed] : Object.keys(config.servers).length === 1 ? [...DATABASE_ROLES] : [];
}

/** The stage's members that listen on a port — its servers, then its hot and warm standbys (a cold one has no server) — by their key. */
export function portedMembers(config: Members): { key: "servers" | "standbys"; name: string; port: number; host?: string }[] {
    return [
        ...Object.entries(config.servers).map(([name, s]) => ({ key: "servers" as const, name, port: s.port, host: s.host })),
        ...Object.entries(config.standbys ?? {}).flatMap(([name, s]) => ("port" in s ? [{ key: "standbys" as const, name, port: s.port, host: s.host }] : [])),
    ];
}

/** Where a member's port must be free: the name of its host, or "" for the deploying machine (any loopback address). */
export const machineOf = (hosts: object | undefined, member: { host?: string }) => (member.host !== undefined && hosts !== undefined && member.host in hosts ? member.host : "");

/** Every port the stage declares (servers, hot and warm standbys), by its key. */
export function declaredPorts(config: Members): { key: string; port: number }[] {
    return portedMembers(config).map((m) => ({ key: `${m.key}.${m.name}.port`, port: m.port }));
}
