// A staging stage on its own machine, through the real engine: production's server on host a, test's
// on host b (namespace hosts with their own sshd and private data folder, test/harness/testHosts.ts).
// The copy is declared in test's stack as on one machine; it runs on b, streaming from a, under
// production's copy lock, and test keeps its identity.
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import { destroyProtected, freePort, stageOutputs, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(600_000);

describeWithTestHosts("a staging stage on another host than production", () => {
    let hosts: TestHosts;
    let workspace: ThrowawayWorkspace;
    const stacks: Record<"prod" | "test", Stack> = {} as Record<"prod" | "test", Stack>;
    let root: string;

    const url = async (stack: Stack, database: "business" | "config" | "work") => ((await stageOutputs(stack)).connectionStrings as Record<string, string>)[database];
    const identityRows = async (stack: Stack) =>
        queryUrl<{ r: string }>(await url(stack, "config"), `SELECT s."ServerName" || ' ' || l."LicenseKey" AS r FROM "Server"."Server" s JOIN "HostServer"."LicenseKey" l USING ("ServerName")`);

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        workspace = throwawayWorkspace();
        root = `${hosts.hosts[0].dataFolder}/stages`; // each host's own folder of that name
        const declared = Object.fromEntries(
            hosts.hosts.map((h, i) => [["a", "b"][i], { address: h.address, port: h.port, user: h.user, privateKey: hosts.clientKey, hostKey: h.hostKey, dataRoot: root }]),
        );
        stacks.prod = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: await freePort(), host: "a" } }),
            "stagewise:promotion": JSON.stringify({ from: "organization/stagewise/test" }),
        });
        stacks.test = await workspace.createStack("test", {
            "stagewise:stage": "test",
            "stagewise:servers": JSON.stringify({ "test-db": { port: await freePort(), host: "b" } }),
            "stagewise:production": JSON.stringify({ stack: "organization/stagewise/prod" }),
        });
        for (const stack of Object.values(stacks)) {
            await stack.setConfig("stagewise:hosts", { value: JSON.stringify(declared), secret: true });
        }
        await stacks.prod.up({ color: "never" });
        await stacks.test.up({ color: "never" });
        await queryUrl(await url(stacks.prod, "business"), `INSERT INTO "Business"."Document" ("Reference") SELECT 'DOC-' || g FROM generate_series(1, 2500) g`);
        await queryUrl(await url(stacks.prod, "config"), `INSERT INTO "Server"."Server" VALUES ('PROD-1', 'prod-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('PROD-1', 'LIC-PROD')`);
        await queryUrl(await url(stacks.test, "config"), `INSERT INTO "Server"."Server" VALUES ('TEST-1', 'test-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('TEST-1', 'LIC-TEST')`);
        await queryUrl(await url(stacks.test, "business"), `INSERT INTO "Business"."Document" ("Reference") VALUES ('TEST-ONLY')`);
    });

    afterAll(async () => {
        await stacks.test?.destroy({ color: "never" }).catch(() => undefined);
        await destroyProtected(stacks.prod);
        workspace?.dispose();
        await hosts?.stop(); // every process in the hosts ends with them
    });

    test("test's copy runs on host b from host a: production's rows, test's identity, the lock released", async () => {
        await stacks.test.setConfig("stagewise:copy", { value: JSON.stringify({ trigger: "first" }) });
        const result = await stacks.test.up({ color: "never" });
        expect(result.stdout).toMatch(/copy to test-db: copied \d+ of \d+ kB \(\d+%\)/);
        const copy = (await stageOutputs(stacks.test)).lastCopy!;
        expect(copy).toMatchObject({ trigger: "first", verified: true, identityRowsRestored: 2 });
        expect(copy.sourceSystemIdentifier).toBe((await stageOutputs(stacks.prod)).servers["prod-db"].systemIdentifier);

        expect(await queryUrl(await url(stacks.test, "business"), `SELECT count(*)::int AS n, count(*) FILTER (WHERE "Reference" = 'TEST-ONLY')::int AS own FROM "Business"."Document"`)).toEqual([{ n: 2500, own: 0 }]);
        expect(await identityRows(stacks.test)).toEqual([{ r: "TEST-1 LIC-TEST" }]);
        expect(await identityRows(stacks.prod)).toEqual([{ r: "PROD-1 LIC-PROD" }]);
        expect(await queryUrl(await url(stacks.prod, "config"), `SELECT count(*)::int AS n FROM "stagewise"."AdministrativeLock"`)).toEqual([{ n: 0 }]);
        // Each server's folder is its own host's; the copy left nothing in b's, nor anything on this machine.
        expect(hosts.ssh("b", `ls -A ${root}/test-db`).trim().split("\n").filter((n) => !n.startsWith(".s.PGSQL.")).sort()).toEqual(["pgdata", "server.log", "stagewise-server.json"]);
        expect(hosts.ssh("a", `ls ${root}/test-db 2>&1 || true`)).toMatch(/No such file/);
        expect(fs.existsSync(root)).toBe(false);
    });

    test("production on a applies exactly the admin objects test verified on b", async () => {
        const onTest = (await stageOutputs(stacks.test)).adminObjects;
        expect(onTest).toMatchObject({ verified: true });
        expect(Object.keys(onTest.objects).length).toBeGreaterThan(0);
        await stacks.prod.up({ color: "never" });
        const onProd = (await stageOutputs(stacks.prod)).adminObjects;
        expect(onProd).toMatchObject({ hash: onTest.hash, objects: onTest.objects });
        expect(onProd.held).toBeUndefined();
        const names = await queryUrl<{ r: string }>(await url(stacks.prod, "work"), `SELECT "Name" AS r FROM "Work"."ProcessDefinition" ORDER BY 1`);
        expect(names.map((n) => `process/${n.r}`)).toEqual(Object.keys(onTest.objects).filter((k) => k.startsWith("process/")).sort());
    });

    test("another preview of test finds nothing to do", async () => {
        const preview = await stacks.test.preview({ color: "never", expectNoChanges: true });
        expect(preview.changeSummary.update ?? 0).toBe(0);
        expect(preview.changeSummary.replace ?? 0).toBe(0);
    });
});
