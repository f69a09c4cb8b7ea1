// stagewise.conf as cluster.ts writes it (the managed settings last, so they win; one value a line),
// and pg_ctl refusing paths its shell would act on. No server: the text and the refusals only.
import { ClusterLocation, runProgram, settingsFileText } from "../../../components/postgres/cluster";

const loc: ClusterLocation = { binDir: "/usr/lib/postgresql/15/bin", serverDir: "/srv/stagewise/prod/db", host: "127.0.0.1", port: 55432 };
const HEADER = "# Managed by stagewise; edits are overwritten.";
const MANAGED = ["listen_addresses = '127.0.0.1'", "port = '55432'", "unix_socket_directories = '/srv/stagewise/prod/db'"];

test("the managed settings come last, so they win, and a given managed name in any case is left out", () => {
    expect(settingsFileText(loc, { work_mem: "4MB", listen_addresses: "*", PORT: "6543", Port: "6544", archive_mode: "on" })).toBe(
        [HEADER, "work_mem = '4MB'", "archive_mode = 'on'", ...MANAGED, ""].join("\n"),
    );
});

test("a value is one quoted string: quotes doubled, backslashes doubled, # and = kept inside", () => {
    expect(settingsFileText(loc, { application_name: "it's C:\\tmp\\new # not a comment = x" })).toBe(
        [HEADER, "application_name = 'it''s C:\\\\tmp\\\\new # not a comment = x'", ...MANAGED, ""].join("\n"),
    );
});

test("a socket folder with a comma or double quote is one element of the list", () => {
    expect(settingsFileText({ ...loc, serverDir: '/srv/a,b "c"/db' }, {}).split("\n")[3]).toBe(`unix_socket_directories = '"/srv/a,b ""c""/db"'`);
});

test.each<[string, Record<string, string>, string]>([
    ["a line break in a value", { application_name: "x'\nport = 6543" }, "the value of application_name has a line break or control character (stagewise writes one value a line)"],
    ["a carriage return in a value", { cluster_name: "a\rb" }, "the value of cluster_name has a line break or control character (stagewise writes one value a line)"],
    ["a NUL in a value", { cluster_name: "a\u0000b" }, "the value of cluster_name has a line break or control character (stagewise writes one value a line)"],
    ["a line break in a name", { "work_mem = '1'\nport": "1" }, `"work_mem = '1'\\nport" is not a setting name stagewise writes (use letters, digits and _, or <extension>.<name>)`],
    ["an include directive", { include: "/etc/passwd" }, `"include" is not a setting name stagewise writes (use letters, digits and _, or <extension>.<name>)`],
    ["an include_dir in capitals", { INCLUDE_DIR: "/srv" }, `"INCLUDE_DIR" is not a setting name stagewise writes (use letters, digits and _, or <extension>.<name>)`],
    ["a name of three parts", { "a.b.c": "1" }, `"a.b.c" is not a setting name stagewise writes (use letters, digits and _, or <extension>.<name>)`],
])("refuses %s", (_what, settings, message) => {
    expect(() => settingsFileText(loc, settings)).toThrow(new Error(message));
});

test("a socket folder with a line break is refused too (the managed values go through the same check)", () => {
    expect(() => settingsFileText({ ...loc, serverDir: "/srv/a\nport = 1" }, {})).toThrow(
        new Error("the value of unix_socket_directories has a line break or control character (stagewise writes one value a line)"),
    );
});

const SHELL = 'through a shell, which acts on " $ ` \\ and line breaks in it (choose a platform.dataRoot and binDir without them)';

test.each(['/srv/$(touch pwned)/db', '/srv/a"b/db', "/srv/a`id`/db", "/srv/a\\b/db"])("pg_ctl is not run with %s in its arguments", (serverDir) => {
    expect(() => runProgram({ ...loc, serverDir }, "pg_ctl", ["start", "--pgdata", `${serverDir}/pgdata`])).toThrow(
        new Error(`pg_ctl would pass ${JSON.stringify(`${serverDir}/pgdata`)} ${SHELL}`),
    );
});

test("pg_ctl is not run from a folder with $ in its name (it starts postgres from there through the shell)", () => {
    expect(() => runProgram({ ...loc, binDir: "/opt/$(id)/bin" }, "pg_ctl", ["status", "--pgdata", "/srv/db/pgdata"])).toThrow(
        new Error(`pg_ctl would pass "/opt/$(id)/bin" ${SHELL}`),
    );
});
