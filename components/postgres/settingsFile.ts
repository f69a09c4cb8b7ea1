// The text of stagewise.conf: the given settings, then the ones stagewise always manages, each name
// checked and each value quoted so that PostgreSQL reads back exactly what was given.
import type { ClusterLocation } from "./cluster";

/** The settings stagewise always manages. writeSettings writes them last, so they win over any given ones. */
export function baseSettings(loc: ClusterLocation): Record<string, string> {
    return {
        listen_addresses: loc.host,
        port: String(loc.port),
        unix_socket_directories: socketDirectory(loc.serverDir),
    };
}

/** unix_socket_directories is a list: a folder with a comma, a double quote or edge spaces is one quoted element. */
function socketDirectory(dir: string): string {
    return /[,"]|^\s|\s$/.test(dir) ? `"${dir.replace(/"/g, '""')}"` : dir;
}

/** A plain setting name: `work_mem`, `DateStyle`, `pg_stat_statements.max`. */
const PLAIN_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
/** Directives of the file format, not settings: a line with one of them reads another file. */
// (An array, not a Set: provider code is serialized, and a captured Set arrives as a plain object.)
const DIRECTIVES = ["include", "include_dir", "include_if_exists"];
// A line break ends the line in the file; the other control characters have no business in a value.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** One line of stagewise.conf; throws on a name that is not a plain setting name or a value with a control character. */
function confLine(name: string, value: string): string {
    if (!PLAIN_NAME.test(name) || DIRECTIVES.includes(name.toLowerCase())) {
        throw new Error(`${JSON.stringify(name)} is not a setting name stagewise writes (use letters, digits and _, or <extension>.<name>)`);
    }
    if (CONTROL.test(value)) {
        throw new Error(`the value of ${name} has a line break or control character (stagewise writes one value a line)`);
    }
    return `${name} = ${confValue(value)}`;
}

/** A postgresql.conf value, quoted: PostgreSQL reads back exactly `value` (no control characters, see confLine). */
export function confValue(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** The text of `stagewise.conf`: the given settings, then the base settings, which win (the last line of a name wins). */
export function settingsFileText(loc: ClusterLocation, settings: Record<string, string>): string {
    const base = baseSettings(loc);
    const managed = new Set(Object.keys(base));
    // PostgreSQL's names are case-insensitive: "PORT" is port.
    const given = Object.entries(settings).filter(([name]) => !managed.has(name.toLowerCase()));
    const lines = [...given, ...Object.entries(base)].map(([name, value]) => confLine(name, value));
    return ["# Managed by stagewise; edits are overwritten.", ...lines, ""].join("\n");
}
