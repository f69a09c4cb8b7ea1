// The PostgresServer provider's check and diff, without a server: which inputs are refused, which
// force a new cluster, which are updates, and drift (a server that does not run is always a change).
import { postgresServer, postgresServerProvider } from "../../../components/server/postgresServer";
import type { ServerInputs, ServerOutputs } from "../../../components/server/serverLifecycle";
import { providerTable } from "./providerTables";

const inputs: ServerInputs = {
    binDir: "/usr/lib/postgresql/15/bin",
    serverDir: "/nonexistent/stagewise-unit/prod-db",
    host: "127.0.0.1",
    port: 15432,
    serverName: "prod-db",
    owner: "stagewise/prod",
    settings: { work_mem: "8MB" },
    ownerRole: "engine",
    databases: [{ name: "work", schemaSql: "" }],
    retain: false,
    role: "primary",
    providerVersion: "4",
};
const outputs: ServerOutputs = {
    ...inputs,
    superuserPassword: "generated-su",
    applicationPassword: "generated-app",
    running: true,
    startedAt: "",
    systemIdentifier: "",
    serverVersion: "",
    lastSettingsChange: "none",
};

test.each<[string, Partial<ServerInputs>, { property: string; reason: string }[]]>([
    ["a relative data folder", { serverDir: "data/prod-db" }, [{ property: "serverDir", reason: '"data/prod-db" is not an absolute path' }]],
    ["a port below 1024", { port: 80 }, [{ property: "port", reason: "80 is not a port from 1024 to 65535" }]],
    ["a setting name with a line break", { settings: { "work_mem\ninclude": "x" } }, [{ property: "settings", reason: '"work_mem\\ninclude" is not a PostgreSQL setting name' }]],
    ["a declared standby without its primary", { role: "standby" }, [{ property: "upstream", reason: "a declared standby needs the endpoint of the declared primary" }]],
])("check refuses %s", async (_name, change, failures) => {
    expect((await postgresServerProvider.check!(outputs, { ...inputs, ...change })).failures).toEqual(failures);
});

test.each<[string, Partial<ServerInputs>, string[]]>([
    ["another port", { port: 15433 }, ["port"]],
    ["another data folder", { serverDir: "/nonexistent/stagewise-unit/other" }, ["serverDir"]],
    ["another OS user", { osUser: "pgrun" }, ["osUser"]],
    ["another setting", { settings: { work_mem: "16MB" } }, []],
    ["a new provider version", { providerVersion: "5" }, []],
])("diff: %s replaces exactly %j", async (_name, change, replaces) => {
    const diff = await postgresServerProvider.diff!("id", outputs, { ...inputs, ...change });
    expect([diff.replaces, diff.deleteBeforeReplace]).toEqual([replaces, true]);
    expect(diff.changes).toBe(true); // a change, and (no server here) not running: drift
});

describe("PostgresServer table", () => {
    providerTable<ServerInputs, ServerOutputs>(postgresServer, {
        inputs,
        outputs: { running: true, startedAt: "", systemIdentifier: "", serverVersion: "", lastSettingsChange: "none" } as never,
        defaults: { host: "127.0.0.1", settings: {}, retain: false, role: "primary" },
        bad: [
            ["a relative programs folder", { binDir: "bin" }, [{ property: "binDir", reason: '"bin" is not an absolute path' }]],
            ["a port above 65535", { port: 70000 }, [{ property: "port", reason: "70000 is not a port from 1024 to 65535" }]],
            ["two problems at once", { serverDir: "x", port: 1.5 }, [{ property: "serverDir", reason: '"x" is not an absolute path' }, { property: "port", reason: "1.5 is not a port from 1024 to 65535" }]],
        ],
        replacing: [
            ["another port", { port: 15433 }, ["port"]],
            ["another OS user", { osUser: "pgrun" }, ["osUser"]],
        ],
        inPlace: [
            ["another setting", { settings: { work_mem: "16MB" } }, ["settings"]],
            ["a given superuser password", { superuserPassword: "chosen" }, ["superuserPassword"]],
            ["the declared role", { role: "standby", upstream: { host: "127.0.0.1", port: 15431 } as never }, ["role", "upstream"]],
        ],
        placeholders: ["port", "serverDir", "settings", "applicationPassword"],
        drift: true, // no server runs here: a server that does not run is always a change
    });
});
