// Production's WAL archiving (`shipping`) when its server runs on another machine (a namespace host,
// test/harness/testHosts.ts), through the real engine: the archive is the primary's own, on its host;
// a closed segment lands there, never on this machine; the logShipping outputs read the archiver.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import { freePort, stageOutputs, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);

describeWithTestHosts("production's WAL archive on its server's host", () => {
    let hosts: TestHosts;
    let workspace: ThrowawayWorkspace;
    let stack: Stack;
    let root: string;

    beforeAll(async () => {
        hosts = await startTestHosts(1);
        workspace = throwawayWorkspace();
        const a = hosts.hosts[0];
        root = `${a.dataFolder}/prod`;
        stack = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: await freePort(), host: "a" } }),
            "stagewise:rpo": "1h",
            "stagewise:shipping": JSON.stringify({ logBackupInterval: "10m", shipInterval: "10m", applyDelay: "0s" }),
        });
        await stack.setConfig("stagewise:hosts", {
            value: JSON.stringify({ a: { address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey, dataRoot: root } }),
            secret: true,
        });
    });
    afterAll(async () => {
        if (stack) {
            const ws = stack.workspace as LocalWorkspace;
            try {
                childProcess.execFileSync("pulumi", ["state", "unprotect", "--all", "--yes", "--stack", "prod"], { cwd: ws.workDir, env: { ...process.env, ...ws.envVars }, timeout: 60_000 });
            } catch {
                // nothing was made
            }
            await stack.destroy({ color: "never" }).catch(() => undefined);
        }
        workspace?.dispose();
        await hosts?.stop();
    });

    test("a closed WAL segment is archived on host a, and the outputs say archiving works", async () => {
        await stack.up({ color: "never" });
        const out = await stageOutputs(stack);
        expect(out.logShipping).toMatchObject({ archive: `${root}/wal-archive`, worstCaseLoss: "20m", archiveFailing: false, lastArchiveError: null });
        const business = (out.connectionStrings as Record<string, string>).business;
        await queryUrl(business, `INSERT INTO "Business"."Document" ("Reference") VALUES ('archived')`);
        // pg_switch_wal needs a superuser: the copy source carries production's.
        const source = out.copySource as { host: string; port: number; superuserPassword: string };
        const superuser = `postgresql://postgres:${encodeURIComponent(source.superuserPassword)}@${source.host}:${source.port}/postgres`;
        const [{ closed }] = await queryUrl<{ closed: string }>(superuser, "SELECT pg_walfile_name(pg_switch_wal()) AS closed");
        const deadline = Date.now() + 30_000;
        while (!hosts.ssh("a", `ls ${root}/wal-archive`).split("\n").includes(closed) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 200));
        }
        expect(hosts.ssh("a", `ls ${root}/wal-archive`).split("\n")).toContain(closed);
        expect(hosts.ssh("a", `stat -c '%U %a' ${root}/wal-archive`).trim()).toBe("postgres 700");
        expect(fs.existsSync(`${root}/wal-archive`)).toBe(false); // host a's own folder
        await stack.refresh({ color: "never" });
        expect((await stageOutputs(stack)).logShipping).toMatchObject({ archiveFailing: false });
        expect((await stack.preview({ color: "never", expectNoChanges: true })).changeSummary.update ?? 0).toBe(0);
    });
});
