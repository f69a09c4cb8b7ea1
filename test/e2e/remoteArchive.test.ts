// Production's WAL archiving and shipping (`shipping`) when its server runs on another machine
// (namespace hosts, test/harness/testHosts.ts), through the real engine: the archive is the
// primary's own, on host a; a closed segment lands there, never on this machine; the logShipping
// outputs read the archiver; a warm standby on host b is fed by a shipper on b reading a's archive
// through the primary's PostgreSQL, and applies a commit made on a; a cold standby's base backups
// are kept on b.
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import { destroyProtected, freePort, stageOutputs, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);

describeWithTestHosts("production's WAL archive on its server's host", () => {
    let hosts: TestHosts;
    let workspace: ThrowawayWorkspace;
    let stack: Stack;
    let root: string;
    let warmPort: number;
    const superuserUrl = async (host: string, port: number) => {
        const source = (await stageOutputs(stack)).copySource as { superuserPassword: string };
        return `postgresql://postgres:${encodeURIComponent(source.superuserPassword)}@${host}:${port}/business`;
    };

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        workspace = throwawayWorkspace();
        warmPort = await freePort();
        const [a, b] = hosts.hosts;
        root = `${a.dataFolder}/prod`;
        stack = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: await freePort(), host: "a" } }),
            "stagewise:rpo": "1h",
            "stagewise:shipping": JSON.stringify({ logBackupInterval: "10m", shipInterval: "5s", applyDelay: "0s" }),
        });
        await stack.setConfig("stagewise:hosts", {
            value: JSON.stringify({
                a: { address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey, dataRoot: root },
                b: { address: b.address, port: b.port, user: b.user, privateKey: hosts.clientKey, hostKey: b.hostKey, dataRoot: root },
            }),
            secret: true,
        });
    });
    afterAll(async () => {
        await destroyProtected(stack);
        workspace?.dispose();
        await hosts?.stop();
    });

    test("a closed WAL segment is archived on host a, and the outputs say archiving works", async () => {
        await stack.up({ color: "never" });
        const out = await stageOutputs(stack);
        expect(out.logShipping).toMatchObject({ archive: `${root}/wal-archive`, worstCaseLossSeconds: 605, archiveFailing: false, lastArchiveError: null });
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

    test("a warm standby on host b applies a commit made on a, its WAL shipped from a's archive by a shipper on b", async () => {
        await stack.setConfig("stagewise:standbys", { value: JSON.stringify({ "prod-warm": { tier: "warm", port: warmPort, host: "b" } }) });
        await stack.up({ color: "never" });
        const out = await stageOutputs(stack);
        const b = hosts.hosts[1].address;
        expect(out.standbys?.["prod-warm"]).toMatchObject({ tier: "warm", endpoint: `${b}:${warmPort}`, running: true, inRecovery: true, incoming: `${root}/shipping/prod-warm/incoming` });
        const business = (out.connectionStrings as Record<string, string>).business;
        await queryUrl(business, `INSERT INTO "Business"."Document" ("Reference") VALUES ('shipped-to-b')`);
        await queryUrl(await superuserUrl(hosts.hosts[0].address, (out.servers["prod-db"] as { port: number }).port), "SELECT pg_switch_wal()");
        const onB = await superuserUrl(b, warmPort);
        const seen = async () => (await queryUrl<{ n: number }>(onB, `SELECT count(*)::int AS n FROM "Business"."Document" WHERE "Reference" = 'shipped-to-b'`))[0].n;
        const deadline = Date.now() + 60_000;
        while ((await seen()) === 0 && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 500));
        }
        expect(await seen()).toBe(1);
        // The shipper runs on b, its files b's; nothing of it on this machine or on a.
        expect(hosts.ssh("b", `pgrep -f '[s]tagewise-shipper' >/dev/null && ls ${root}/shipping/prod-warm`).trim().split("\n").sort()).toEqual(["applied", "incoming", "state"]);
        expect(hosts.ssh("a", `ls ${root}/shipping 2>&1 || true`)).toMatch(/No such file/);
        expect(fs.existsSync(`${root}/shipping`)).toBe(false);
        expect((await stageOutputs(stack)).logShipping).toMatchObject({ archiveFailing: false });
        expect((await stack.preview({ color: "never", expectNoChanges: true })).changeSummary.update ?? 0).toBe(0);
    });

    test("a cold standby kept on host b: its verified base backup taken there, from a", async () => {
        await stack.setConfig("stagewise:standbys", {
            value: JSON.stringify({ "prod-warm": { tier: "warm", port: warmPort, host: "b" }, "prod-cold": { tier: "cold", host: "b", keepBaseBackups: 1 } }),
        });
        await stack.up({ color: "never" });
        const cold = (await stageOutputs(stack)).coldStandbys!["prod-cold"];
        expect(cold).toMatchObject({ tier: "cold", archive: `${root}/wal-archive` });
        expect(cold.baseBackups.map((b) => b.verified)).toEqual([true]);
        expect(hosts.ssh("b", `ls ${root}/prod-cold/base-backups`).trim()).toBe(cold.baseBackups[0].id);
        expect(hosts.ssh("b", `cat ${root}/prod-cold/base-backups/${cold.baseBackups[0].id}/pgdata/PG_VERSION`).trim()).toMatch(/^\d+$/);
        expect(hosts.ssh("a", `ls ${root}/prod-cold 2>&1 || true`)).toMatch(/No such file/);
        expect((await stack.preview({ color: "never", expectNoChanges: true })).changeSummary.update ?? 0).toBe(0);
    });
});
