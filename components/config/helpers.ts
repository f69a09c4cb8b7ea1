// Small facts derived from a validated stage configuration.
import { DATABASE_ROLES } from "../engine/referenceSchema";
import type { StageConfig } from "./schema";

/** postgresql.conf settings as the text PostgreSQL reads (numbers and booleans written out). */
export function settingsText(settings: Record<string, string | number | boolean>): Record<string, string> {
    return Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, String(value)]));
}

/** The database roles each server holds: all of them on a stage's only server, else as listed. */
export function databasesOf(config: StageConfig, server: string): (typeof DATABASE_ROLES)[number][] {
    const listed = config.servers[server].databases;
    return listed ?? (Object.keys(config.servers).length === 1 ? [...DATABASE_ROLES] : []);
}

/** Every port the stage declares (servers, hot and warm standbys), by its key. */
export function declaredPorts(config: Pick<StageConfig, "servers" | "standbys">): { key: string; port: number }[] {
    return [
        ...Object.entries(config.servers).map(([name, s]) => ({ key: `servers.${name}.port`, port: s.port })),
        ...Object.entries(config.standbys).flatMap(([name, s]) => ("port" in s ? [{ key: `standbys.${name}.port`, port: s.port }] : [])),
    ];
}
