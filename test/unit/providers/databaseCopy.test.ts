// The DatabaseCopy provider's diff: a copy is made again only for a new trigger or a new target folder.
import { databaseCopy } from "../../../components/copy/databaseCopy";
import { providerTable } from "./providerTables";

providerTable(databaseCopy, {
    inputs: {
        source: { host: "127.0.0.1", port: 15432, superuserPassword: "su" },
        lockConnection: "postgresql://engine:pw@127.0.0.1:15432/config",
        holder: "stagewise/test",
        stage: "test",
        serverName: "test-db",
        binDir: "/usr/lib/postgresql/15/bin",
        serverDir: "/nonexistent/stagewise-unit/test-db",
        host: "127.0.0.1",
        port: 15442,
        settings: {},
        superuserPassword: "su",
        ownerRole: "engine",
        ownerPassword: "pw",
        databases: ["work"],
        identity: { database: "config", tables: [] },
        trigger: "2026-11-22",
        providerVersion: "2",
    },
    outputs: { copiedAt: "2026-11-22T00:00:00.000Z", bytes: 1, sourceSystemIdentifier: "1", identityRowsRestored: 0, verified: true, tables: [] },
    replacing: [["another target folder", { serverDir: "/nonexistent/stagewise-unit/other" }, ["serverDir"]]],
    inPlace: [["a new trigger", { trigger: "2026-11-23" }, ["trigger"]]],
    placeholders: ["serverDir", "trigger", "source"],
});

test("diff: other settings or databases copy nothing again", async () => {
    const inputs = { trigger: "t", serverDir: "/d", databases: ["work"], settings: {}, providerVersion: "2" } as never as Parameters<NonNullable<typeof databaseCopy.provider.create>>[0];
    expect(await databaseCopy.provider.diff!("id", inputs as never, { ...inputs, databases: ["work", "business"], settings: { work_mem: "8MB" } })).toEqual({ changes: false, replaces: [], deleteBeforeReplace: false });
});
