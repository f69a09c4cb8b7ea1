// Coordination and AdminObjects component graphs, with Pulumi mocks (no engine, no PostgreSQL).
import * as pulumi from "@pulumi/pulumi";
import { installMocks, newStage, settled } from "../../harness/mocks";

jest.mock("@pulumi/pulumi/runtime/closure/serializeClosure", () => require("../../harness/fakeSerializeClosure"));

/** The components under test, imported once installMocks has run, with the loaded config and the stage `name` made of it. */
async function loadStage(name: string) {
    const { loadStageConfig } = await import("../../../components/config/config");
    const { Coordination } = await import("../../../components/locks/coordination");
    const { AdminObjects, planAdminObjects } = await import("../../../components/admin/promotion");
    const config = loadStageConfig();
    const stage = await newStage(name, config);
    return { Coordination, AdminObjects, planAdminObjects, config, stage };
}

const platform = JSON.stringify({ kind: "local", binDir: "/usr/lib/postgresql/15/bin", dataRoot: "/srv/stagewise-mock" });

test("a staging stage (mocks) binds its server to production, takes its locks there, copies from it and applies its admin objects", async () => {
    const env = await installMocks("test", {
        "stagewise:stage": "test",
        "stagewise:servers": JSON.stringify({ "test-db": { port: 55442 } }),
        "stagewise:platform": platform,
        "stagewise:production": JSON.stringify({ stack: "organization/stagewise/prod" }),
        "stagewise:locks": JSON.stringify({ admin: { reason: "release 42", waitSeconds: 30 } }),
        "stagewise:copy": JSON.stringify({ trigger: "2026-11-22" }),
    });
    const { Coordination, AdminObjects, planAdminObjects, config, stage } = await loadStage("test");
    const production = {
        stack: "organization/stagewise/prod",
        configConnection: pulumi.secret("postgresql://engine:pw@127.0.0.1:55432/config"),
        copySource: pulumi.secret({ host: "127.0.0.1", port: 55432, superuserPassword: "su" }),
    };
    const coordination = new Coordination("test", { locks: config.locks, copy: config.copy, stage, connectionStrings: stage.connectionStrings, production });
    new AdminObjects("test", { stage, connectionStrings: stage.connectionStrings, plan: planAdminObjects(config, undefined, process.cwd()) });
    await settled();

    expect(env.resources.map((r) => `${r.type}::${r.name}`).filter((n) => !n.includes("Stage::") && !n.includes("DataRoot") && !n.includes("Command") && !n.includes("PostgresServer")).sort()).toEqual([
        "pulumi-nodejs:dynamic/stagewise:AdminObject::test-process-audit-ping",
        "pulumi-nodejs:dynamic/stagewise:AdminObject::test-process-invoice-run",
        "pulumi-nodejs:dynamic/stagewise:AdminObject::test-process-order-approval",
        "pulumi-nodejs:dynamic/stagewise:AdminObject::test-trigger-nightly-invoices",
        "pulumi-nodejs:dynamic/stagewise:AdministrativeLock::test-lock-admin",
        "pulumi-nodejs:dynamic/stagewise:DatabaseCopy::test-copy",
        "pulumi-nodejs:dynamic/stagewise:LockBinding::test-test-db-binding",
        "stagewise:index:AdminObjects::test",
        "stagewise:index:Coordination::test",
    ]);
    expect(env.get("pulumi-nodejs:dynamic/stagewise:LockBinding", "test-test-db-binding").inputs).toMatchObject({
        stagingStack: "stagewise/test",
        stagingServer: "test-db",
        stage: "test",
        endpoint: "127.0.0.1:55442",
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:AdministrativeLock", "test-lock-admin").inputs).toMatchObject({
        scope: "admin",
        holder: "stagewise/test",
        reason: "release 42",
        waitSeconds: 30,
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:DatabaseCopy", "test-copy").inputs).toMatchObject({
        trigger: "2026-11-22",
        serverName: "test-db",
        serverDir: "/srv/stagewise-mock/test-db",
        databases: ["work", "business", "config"],
        identity: { database: "config", tables: [{ schema: "Server", table: "Server" }, { schema: "HostServer", table: "LicenseKey" }] },
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:AdminObject", "test-process-order-approval").inputs).toMatchObject({
        kind: "process",
        name: "order-approval",
        definition: { version: 1, recoveryLevel: "full", steps: ["receive", "check-credit", "approve", "ship"] },
    });
    expect(await new Promise((r) => coordination.urn.apply(r))).toBe("urn:pulumi:test::stagewise::stagewise:index:Coordination::test");
});

test("production (mocks) reports its bindings and holds its admin objects back while test has verified none", async () => {
    const env = await installMocks("prod", {
        "stagewise:stage": "production",
        "stagewise:servers": JSON.stringify({ "prod-db": { port: 55432 } }),
        "stagewise:platform": platform,
        "stagewise:promotion": JSON.stringify({ from: "organization/stagewise/test" }),
    });
    const { Coordination, AdminObjects, planAdminObjects, config, stage } = await loadStage("prod");
    new Coordination("prod", { locks: config.locks, copy: config.copy, stage, connectionStrings: stage.connectionStrings });
    const plan = planAdminObjects(config, undefined, process.cwd());
    const admin = new AdminObjects("prod", { stage, connectionStrings: stage.connectionStrings, plan });
    await settled();

    const names = env.resources.map((r) => `${r.type}::${r.name}`);
    expect(names).toContain("pulumi-nodejs:dynamic/stagewise:BindingRegistry::prod-bindings");
    expect(names.filter((n) => n.includes("AdminObject::"))).toEqual([]);
    expect(plan.held).toBe("admin objects held back: the test stage (organization/stagewise/test) has verified none yet; bring test up, then production again");
    expect(await new Promise((r) => admin.state.apply(r))).toEqual({ hash: plan.hash, verified: false, objects: {}, held: plan.held });
});
