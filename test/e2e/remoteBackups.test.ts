// Backups and restore as code for a stage whose server runs on another machine (a namespace host with
// its own sshd and private data folder, test/harness/testHosts.ts), through the real engine: the
// backup sets live beside the server on its host, and a restore puts the data back after a safety
// backup. (A project file's way into a set and back: test/integration/remoteBackupSets.test.ts.)
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import { freePort, stageOutputs, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(600_000);

describeWithTestHosts("backups of a server on a remote host", () => {
    let hosts: TestHosts;
    let workspace: ThrowawayWorkspace;
    let stack: Stack;
    let root: string;
    let businessUrl: string;
    const documents = async () => (await queryUrl<{ reference: string }>(businessUrl, `SELECT "Reference" AS reference FROM "Business"."Document" ORDER BY 1`)).map((r) => r.reference);

    beforeAll(async () => {
        hosts = await startTestHosts(1);
        workspace = throwawayWorkspace();
        root = `${hosts.hosts[0].dataFolder}/dev`;
        const a = hosts.hosts[0];
        stack = await workspace.createStack("dev", {
            "stagewise:stage": "development",
            "stagewise:servers": JSON.stringify({ "dev-db": { port: await freePort(), host: "a" } }),
            "stagewise:backups": JSON.stringify({ interval: "1h", keep: 2 }),
        });
        await stack.setConfig("stagewise:hosts", {
            value: JSON.stringify({ a: { address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey, dataRoot: root } }),
            secret: true,
        });
    });

    afterAll(async () => {
        await stack?.destroy({ color: "never" }).catch(() => undefined);
        workspace?.dispose();
        await hosts?.stop(); // every process in the hosts ends with them
    });

    test("the first up takes a verified online backup on host a, beside the server", async () => {
        await stack.up({ color: "never" });
        const outputs = await stageOutputs(stack);
        businessUrl = (outputs.connectionStrings as { business: string }).business;
        expect(outputs.backups).toMatchObject({ mode: "online", interval: "1h", stale: false, lastRestore: null });
        expect(outputs.backups!.backups.map((b) => [b.mode, b.safety, b.verified])).toEqual([["online", false, true]]);
        const id = outputs.backups!.backups[0].id;
        expect(hosts.ssh("a", `ls ${root}/backups`).trim()).toBe(id);
        expect(hosts.ssh("a", `cat ${root}/backups/${id}/servers/dev-db/*/pgdata/PG_VERSION`).trim()).toMatch(/^\d+$/);
        expect(fs.existsSync(root)).toBe(false); // host a's own folder: not on this machine
        const preview = await stack.preview({ color: "never" });
        expect(preview.changeSummary.update ?? 0).toBe(0); // not due again before the interval
    });

    test("restore as code on host a: the data back to the backup, a safety backup listed", async () => {
        await queryUrl(businessUrl, `INSERT INTO "Business"."Document" ("Reference") VALUES ('after-the-backup')`);
        const backup = (await stageOutputs(stack)).backups!.backups[0].id;
        await stack.setConfig("stagewise:restore", { value: JSON.stringify({ backup }) });
        const up = await stack.up({ color: "never" });
        expect(up.stdout).toContain("restore: taking a safety backup of the current state");
        expect(await documents()).toEqual([]);
        const outputs = await stageOutputs(stack);
        expect(outputs.backups!.lastRestore).toMatchObject({ backup });
        const safety = outputs.backups!.backups.find((b) => b.id === outputs.backups!.lastRestore!.safetyBackup);
        expect(safety).toMatchObject({ safety: true, mode: "offline", verified: true });
        expect(hosts.ssh("a", `ls ${root}/backups`).trim().split("\n").sort()).toEqual([backup, safety!.id].sort());
        expect(hosts.ssh("a", `ls ${root}/dev-db`)).not.toContain("pgdata.before-restore");
        expect((await stack.preview({ color: "never", expectNoChanges: true })).changeSummary.update ?? 0).toBe(0);
    });
});
