// A real PostgreSQL cluster through components/postgres/cluster.ts: create, bootstrap, reload versus
// restart, stop.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { userCanEnter } from "../../components/platform/local";
import { applySettings, bootstrap, clusterStatus, connect, dataDirOf, liveFacts, startCluster, stopCluster, ClusterLocation } from "../../components/postgres/cluster";
import { clusterForFile } from "../harness/postgres";

jest.setTimeout(120_000);

const PASSWORD = "integration-superuser-pw";
let loc: ClusterLocation;
clusterForFile("stagewise-cluster-", PASSWORD, { work_mem: "4MB" }, (made) => (loc = made));

test("initdb enabled data checksums and SCRAM, and the server listens on its loopback port", async () => {
    const client = await connect(loc, PASSWORD);
    try {
        const { rows } = await client.query(
            "SELECT current_setting('data_checksums') AS checksums, current_setting('password_encryption') AS enc, current_setting('port') AS port, current_setting('listen_addresses') AS listen",
        );
        expect(rows[0]).toEqual({ checksums: "on", enc: "scram-sha-256", port: String(loc.port), listen: "127.0.0.1" });
    } finally {
        await client.end();
    }
    expect(clusterStatus(loc)).toBe("running");
});

test("a wrong password is refused (no trust authentication anywhere)", async () => {
    await expect(connect(loc, "wrong")).rejects.toThrow(/password authentication failed for user "postgres"/);
});

test("bootstrap creates the owner role and databases with the schema, and is idempotent", async () => {
    const spec = {
        ownerRole: "engine",
        ownerPassword: "integration-app-pw",
        databases: [
            { name: "work", schemaSql: 'CREATE SCHEMA IF NOT EXISTS "Work"; CREATE TABLE IF NOT EXISTS "Work"."T" (id int);' },
            { name: "config", schemaSql: "" },
        ],
    };
    await bootstrap(loc, PASSWORD, spec);
    await bootstrap(loc, PASSWORD, spec);
    const { Client } = await import("pg");
    const app = new Client({ host: loc.host, port: loc.port, user: "engine", password: "integration-app-pw", database: "work" });
    await app.connect();
    try {
        const { rows } = await app.query(
            "SELECT d.datname, pg_get_userbyid(d.datdba) AS owner FROM pg_database d WHERE datname IN ('work', 'config') ORDER BY 1",
        );
        expect(rows).toEqual([{ datname: "config", owner: "engine" }, { datname: "work", owner: "engine" }]);
        const tables = await app.query("SELECT schemaname, tablename, tableowner FROM pg_tables WHERE schemaname = 'Work'");
        expect(tables.rows).toEqual([{ schemaname: "Work", tablename: "T", tableowner: "engine" }]);
    } finally {
        await app.end();
    }
});

test("a reload-only setting reloads (postmaster start time unchanged); a restart-only one restarts", async () => {
    const before = await liveFacts(loc, PASSWORD);
    expect(await applySettings(loc, PASSWORD, { work_mem: "8MB" })).toBe("reloaded");
    const afterReload = await liveFacts(loc, PASSWORD);
    expect(afterReload.startedAt).toBe(before.startedAt);

    expect(await applySettings(loc, PASSWORD, { work_mem: "8MB", shared_buffers: "48MB" })).toBe("restarted");
    const afterRestart = await liveFacts(loc, PASSWORD);
    expect(afterRestart.startedAt).not.toBe(before.startedAt);
    expect(afterRestart.systemIdentifier).toBe(before.systemIdentifier);

    const client = await connect(loc, PASSWORD);
    try {
        const { rows } = await client.query("SELECT current_setting('work_mem') AS w, current_setting('shared_buffers') AS s");
        expect(rows[0]).toEqual({ w: "8MB", s: "48MB" });
    } finally {
        await client.end();
    }
});

test("the managed settings file holds exactly the user settings, then the base settings (the last line wins)", () => {
    expect(fs.readFileSync(path.join(dataDirOf(loc), "stagewise.conf"), "utf8")).toBe(
        [
            "# Managed by stagewise; edits are overwritten.",
            "work_mem = '8MB'",
            "shared_buffers = '48MB'",
            "listen_addresses = '127.0.0.1'",
            `port = '${loc.port}'`,
            `unix_socket_directories = '${loc.serverDir}'`,
            "",
        ].join("\n"),
    );
});

test("a value with quotes, backslashes, # and = is read back by PostgreSQL as exactly that one value", async () => {
    const hostile = "it's a \\path\\ # not a comment = x 'quoted' \\'; port = 1";
    expect(await applySettings(loc, PASSWORD, { work_mem: "8MB", shared_buffers: "48MB", log_line_prefix: hostile })).toBe("reloaded");
    const client = await connect(loc, PASSWORD);
    try {
        expect((await client.query("SELECT current_setting('log_line_prefix') AS v")).rows[0].v).toBe(hostile);
        const { rows } = await client.query(
            "SELECT name, setting, applied, error FROM pg_file_settings WHERE sourcefile LIKE '%/stagewise.conf' ORDER BY sourceline",
        );
        expect(rows).toEqual([
            { name: "work_mem", setting: "8MB", applied: true, error: null },
            { name: "shared_buffers", setting: "48MB", applied: true, error: null },
            { name: "log_line_prefix", setting: hostile, applied: true, error: null },
            { name: "listen_addresses", setting: "127.0.0.1", applied: true, error: null },
            { name: "port", setting: String(loc.port), applied: true, error: null },
            { name: "unix_socket_directories", setting: loc.serverDir, applied: true, error: null },
        ]);
    } finally {
        await client.end();
    }
});

// A preview runner's unprivileged OS user cannot enter the data folder: it still sees a running
// server as running (asked on its port), not as drift. Needs a user "nobody" able to read this checkout.
const REPO_ROOT = path.resolve(__dirname, "../..");
const asNobody = process.getuid?.() === 0 && userCanEnter("nobody", path.join(REPO_ROOT, "components")) ? test : test.skip;
asNobody("a deployer who may not enter the data folder sees a running server as running, and a stopped one as stopped", () => {
    const statusAsNobody = () =>
        childProcess
            .execFileSync(
                "setpriv",
                ["--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--", process.execPath, "-r", "ts-node/register/transpile-only", "-e",
                    `process.stdout.write(require(${JSON.stringify(path.join(REPO_ROOT, "components/postgres/cluster.ts"))}).clusterStatus(${JSON.stringify({ ...loc, osUser: undefined })}))`],
                { cwd: REPO_ROOT, encoding: "utf8", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", TS_NODE_TRANSPILE_ONLY: "true" } },
            )
            .trim();
    expect(() => fs.readdirSync(dataDirOf(loc))).not.toThrow(); // root can; nobody cannot (the folder is 0700, the servers' user's)
    expect(statusAsNobody()).toBe("running");
    stopCluster(loc);
    try {
        expect(statusAsNobody()).toBe("stopped");
    } finally {
        startCluster(loc);
    }
});

test("stop leaves the cluster stopped", () => {
    stopCluster(loc);
    expect(clusterStatus(loc)).toBe("stopped");
});
