// The `settings` map of a server or standby: postgresql.conf settings by name, checked as an attacker
// would write them. A name is one of PostgreSQL's own (pgSettingNames.ts, from pg_settings) or an
// extension's (`pg_stat_statements.max`); the settings stagewise manages are refused, naming the key
// that sets them; a value never holds a line break, runs a program, loads code from a path or
// writes files outside the data directory.
import { z } from "zod";
import { PG_READ_ONLY_SETTING_NAMES, PG_SETTING_NAMES } from "./pgSettingNames";
import { CONTROL, expect, show } from "./primitives";

type SettingValue = string | number | boolean;

const settingValue = z.union([z.string(), z.number(), z.boolean()], {
    error: (issue) =>
        typeof issue.input === "number" // 1e400 in the stack's JSON is Infinity
            ? `${issue.input} is not a setting value (use a finite number)`
            : expect("a setting value", "use a string, number or true/false")(issue),
});

/** Names as pg_settings spells them ("TimeZone") and in lower case ("timezone"), as postgresql.conf.sample writes some. */
const KNOWN = new Set([...PG_SETTING_NAMES, ...PG_SETTING_NAMES.map((name) => name.toLowerCase())]);
/** Fixed when PostgreSQL is built or at initdb: a server whose file sets one does not start. */
const READ_ONLY = new Set(PG_READ_ONLY_SETTING_NAMES);
/** An extension's setting ("customized option"): `<extension>.<name>`. */
const EXTENSION_SETTING = /^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$/;

const THIS_MEMBER = "of this server or standby";
const NO_KEY = "no key sets it";
const SHIPPING = "set shipping instead";
const CUTOVER = "set cutover instead";

/** The settings stagewise writes itself, each with the key that controls it. */
const MANAGED: Record<string, string> = {
    listen_addresses: `set the host key ${THIS_MEMBER} instead`,
    port: `set the port key ${THIS_MEMBER} instead`,
    unix_socket_directories: NO_KEY,
    archive_mode: SHIPPING,
    archive_command: SHIPPING,
    archive_library: SHIPPING,
    archive_timeout: "set shipping.logBackupInterval instead",
    archive_cleanup_command: SHIPPING,
    restore_command: SHIPPING,
    wal_retrieve_retry_interval: SHIPPING,
    recovery_min_apply_delay: "set applyDelay or shipping.applyDelay instead",
    synchronous_standby_names: "set standbys.<name>.synchronous instead",
    recovery_target: CUTOVER,
    recovery_target_action: CUTOVER,
    recovery_target_inclusive: CUTOVER,
    recovery_target_lsn: CUTOVER,
    recovery_target_name: CUTOVER,
    recovery_target_time: CUTOVER,
    recovery_target_timeline: CUTOVER,
    recovery_target_xid: CUTOVER,
    hot_standby: NO_KEY,
    hot_standby_feedback: NO_KEY,
    primary_conninfo: NO_KEY,
    primary_slot_name: NO_KEY,
    promote_trigger_file: NO_KEY,
    data_directory: NO_KEY,
    config_file: NO_KEY,
    hba_file: NO_KEY,
    ident_file: NO_KEY,
    external_pid_file: NO_KEY,
};

const LIBRARY = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const LIBRARY_LIST_RULE = `use names without a path, separated by commas, e.g. "pg_stat_statements, auto_explain"`;

/** Settings whose value loads code or names files: what each accepts, as a message when refused. */
const VALUE_RULES: Record<string, (text: string) => string | undefined> = {
    shared_preload_libraries: libraryList,
    local_preload_libraries: libraryList,
    session_preload_libraries: libraryList,
    output_plugin_libraries: libraryList,
    jit_provider: (text) => (LIBRARY.test(text) ? undefined : `${shown(text)} is not a library name (use a name without a path, e.g. "llvmjit")`),
    dynamic_library_path: (text) =>
        text === "$libdir" ? undefined : `${shown(text)} is not "$libdir" (libraries load only from PostgreSQL's own folder)`,
    log_directory: (text) =>
        text.startsWith("/") || text.split("/").includes("..")
            ? `${shown(text)} is not a folder inside the data directory (use a relative path without "..", e.g. "log")`
            : undefined,
    log_filename: (text) => (text.includes("/") ? `${shown(text)} is not a file name (use a name without "/", e.g. "postgresql-%a.log")` : undefined),
};

function libraryList(text: string): string | undefined {
    const names = text.trim() === "" ? [] : text.split(",").map((name) => name.trim());
    return names.every((name) => LIBRARY.test(name)) ? undefined : `${shown(text)} is not a list of library names (${LIBRARY_LIST_RULE})`;
}


/** A received name or value in a message: show() leaves DEL, the C1 controls and U+2028/2029 as they are; escaped here. */
function shown(text: string): string {
    return show(text).replace(/[\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** What is wrong with one entry of `settings`, in the user's terms, or undefined. */
export function settingProblem(name: string, value: unknown): string | undefined {
    if (!KNOWN.has(name) && !EXTENSION_SETTING.test(name)) {
        const near = closestName(name);
        const hint = near === undefined ? "" : `did you mean ${shown(near)}? `;
        return `${shown(name)} is not a PostgreSQL setting (${hint}see pg_settings; extension settings are written "<extension>.<name>")`;
    }
    const key = name.toLowerCase();
    if (Object.hasOwn(MANAGED, key)) {
        return `is managed by stagewise (${MANAGED[key]})`;
    }
    if (READ_ONLY.has(key)) {
        return "is read-only (PostgreSQL fixes it when it is built or at initdb; a server that sets it does not start)";
    }
    if (key.endsWith("_command")) {
        return "runs a shell command (not allowed in settings)";
    }
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "boolean") {
        return undefined; // reported by the value's own schema
    }
    const text = String(value as SettingValue);
    if (CONTROL.test(text)) {
        return `${shown(text)} is not a setting value (use text without line breaks or control characters)`;
    }
    return Object.hasOwn(VALUE_RULES, key) ? VALUE_RULES[key](text) : undefined;
}

/** The known name nearest to `name` (one or two edits away, ignoring case), as pg_settings spells it. */
function closestName(name: string): string | undefined {
    const wanted = name.toLowerCase();
    const limit = wanted.length <= 4 ? 1 : 2;
    let best: { name: string; distance: number } | undefined;
    for (const known of PG_SETTING_NAMES) {
        const distance = editDistance(wanted, known.toLowerCase());
        if (distance <= limit && (best === undefined || distance < best.distance)) {
            best = { name: known, distance };
        }
    }
    return best?.name;
}

/** Edits (insert, delete, replace, swap two neighbours) that turn `a` into `b`. */
function editDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
                d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.length][b.length];
}

/** postgresql.conf settings, by name (see settingProblem for what is refused). */
export const serverSettings = z
    .record(z.string(), settingValue)
    .superRefine(
        (settings, ctx) => {
            for (const [name, value] of Object.entries(settings)) {
                const problem = settingProblem(name, value);
                if (problem !== undefined) {
                    ctx.addIssue({ code: "custom", path: [name], message: problem, input: value });
                }
            }
        },
        { when: () => true }, // names are checked even when a value has the wrong type
    )
    .default({});
