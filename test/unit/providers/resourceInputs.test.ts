// What each dynamic resource registers: its type token, the inputs it records, which of them are secret
// and the properties it exposes as outputs. These must not change, or existing stacks would show a
// diff: resourceInputs.expected.json was recorded with the providers as they were before the kit.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { installMocks, settled } from "../../harness/mocks";

jest.mock("@pulumi/pulumi/runtime/closure/serializeClosure", () => require("../../harness/fakeSerializeClosure"));

const loc = { binDir: "/usr/lib/postgresql/15/bin", serverDir: "/srv/x/db", host: "127.0.0.1", port: 15432 };
const primary = { host: "127.0.0.1", port: 15431, superuserPassword: "su" };

test("every dynamic resource records the same inputs and outputs", async () => {
    const env = await installMocks("unit", {});
    const { PostgresServer } = await import("../../../components/server/postgresServer");
    const { DataRoot } = await import("../../../components/server/dataRoot");
    const { HotStandby } = await import("../../../components/standby/hot/hotStandby");
    const { PrimaryRole } = await import("../../../components/standby/hot/primaryRole");
    const { WarmStandby } = await import("../../../components/standby/warm/warmStandby");
    const { LogShippingJob } = await import("../../../components/shipping/logShippingJob");
    const { WalArchive } = await import("../../../components/shipping/walArchive");
    const { DatabaseCopy } = await import("../../../components/copy/databaseCopy");
    const { AdministrativeLock, LockBinding, BindingRegistry } = await import("../../../components/locks/lockResources");
    const { AdminObject } = await import("../../../components/admin/adminObject");
    const { EngineUnit } = await import("../../../components/engine/engineUnit");
    const { EnginePrimary } = await import("../../../components/engine/enginePrimary");
    const { BackupPlanResource, Restore } = await import("../../../components/backup/backupPlan");
    const { BaseBackups } = await import("../../../components/backup/baseBackups");
    const { DisasterRecoveryServer } = await import("../../../components/dr/drServer");
    const { DrLogShipping } = await import("../../../components/dr/drShipping");
    const { LicenseReapplication } = await import("../../../components/dr/licenseReapplication");
    const made: Record<string, pulumi.Resource> = {
        server: new PostgresServer("server", { ...loc, serverName: "db", owner: "p/s", ownerRole: "engine", databases: [{ name: "work", schemaSql: "" }] }),
        serverGiven: new PostgresServer("serverGiven", { ...loc, serverName: "db", owner: "p/s", ownerRole: "engine", databases: [], superuserPassword: "given", retain: true }),
        dataRoot: new DataRoot("dataRoot", { path: "/srv/x", owner: "p/s", stage: "production" }),
        hot: new HotStandby("hot", { ...loc, standbyName: "hot", primary }),
        role: new PrimaryRole("role", { declared: "db", members: [{ name: "db", ...loc }], synchronous: [], binDir: loc.binDir, superuserPassword: "su" }),
        warm: new WarmStandby("warm", { ...loc, standbyName: "warm", primary, settings: { a: "b" } }),
        job: new LogShippingJob("job", { archive: "/srv/x/a", receiversDir: "/srv/x/r", receivers: ["warm"], shipIntervalMs: 5000, primary }),
        archive: new WalArchive("archive", { path: "/srv/x/a" }),
        copy: new DatabaseCopy("copy", {
            ...loc, source: primary, lockConnection: "postgresql://l", holder: "p/t", stage: "test", serverName: "db", settings: {}, superuserPassword: "su",
            ownerRole: "engine", ownerPassword: "op", databases: ["work"], identity: { database: "config", tables: [] }, trigger: "1",
        }),
        lock: new AdministrativeLock("lock", { connection: "postgresql://l", scope: "copy", holder: "p/t", stage: "test", reason: "why" }),
        binding: new LockBinding("binding", { productionConnection: "postgresql://l", stagingStack: "p/t", stagingServer: "db", stage: "test", endpoint: "h:1" }),
        registry: new BindingRegistry("registry", { connection: "postgresql://l" }),
        admin: new AdminObject("admin", { connection: "postgresql://w", kind: "process", name: "p", definition: { version: 1 }, hash: "h" }),
        unit: new EngineUnit("unit", { name: "u1", command: ["node"], workUrl: "postgresql://w", stateDir: "/srv/x/u", stepMs: 100, takeoverMs: 1000 }),
        enginePrimary: new EnginePrimary("enginePrimary", { primary: "u1", workUrl: "postgresql://w" }),
        plan: new BackupPlanResource("plan", { setsDir: "/srv/x/b", mode: "online" as never, intervalMs: 1000, keep: 2, servers: [], configFiles: [], units: [], ownerRole: "engine" }),
        restore: new Restore("restore", { backup: "b1", setsDir: "/srv/x/b", servers: [], configFiles: [], units: [], ownerRole: "engine", workUrl: "postgresql://w" }),
        baseBackups: new BaseBackups("baseBackups", { source: primary, folder: "/srv/x/bb", binDir: loc.binDir, intervalSeconds: 60, keep: 2 }),
        drServer: new DisasterRecoveryServer("drServer", {
            ...loc, serverName: "db", tier: "warm", backupsDir: "/srv/x/bb", incoming: "/srv/x/i", tailFolder: "/srv/x/t", archive: "/srv/x/a",
            production: primary, productionDataDir: "", applyDelaySeconds: 0, cutover: null,
        }),
        drShipping: new DrLogShipping("drShipping", { from: "/srv/x/a", to: "/srv/x/i", stateDir: "/srv/x/s", intervalSeconds: 5, stopped: false }),
        license: new LicenseReapplication("license", { connection: "postgresql://c", tables: [], reapply: "1" }),
        licenseRows: new LicenseReapplication("licenseRows", { connection: "postgresql://c", tables: [], reapply: "1", rows: { "S.T": [] } }),
    };
    await settled();
    const recorded: Record<string, unknown> = {};
    for (const [key, resource] of Object.entries(made)) {
        const r = env.resources.find((x) => x.name === key)!;
        const { __provider: _provider, ...inputs } = r.inputs;
        const outputs = Object.keys(resource).filter((k) => pulumi.Output.isInstance((resource as never)[k]) && k !== "urn" && k !== "id" && k !== "__provider").sort();
        const secret: string[] = [];
        for (const k of outputs) {
            if (await pulumi.isSecret((resource as never)[k] as pulumi.Output<unknown>)) secret.push(k);
        }
        recorded[key] = { type: r.type, inputs, outputs, secret };
    }
    expect(recorded).toEqual(JSON.parse(fs.readFileSync(path.join(__dirname, "resourceInputs.expected.json"), "utf8")));
});
