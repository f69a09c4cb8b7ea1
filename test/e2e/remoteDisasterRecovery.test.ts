// The DR site on another machine than production, through the real engine: production's server on
// host a archives WAL there; the DR stack's server on host b keeps base backups taken on b from a,
// WAL shipped by a shipper on b reading a's archive through production's server, and a warm server
// replaying it; a cutover to the latest WAL on b promotes it with production's data and the DR site's
// own licence rows. Nothing of the site is on this machine or on a.
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import { destroyProtected, freePort, stageOutputs, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(600_000);

const DR_KEY = "LIC-DR-on-b-SECRET";

describeWithTestHosts("a DR site on host b of a production on host a", () => {
    let hosts: TestHosts;
    let workspace: ThrowawayWorkspace;
    let prod: Stack;
    let dr: Stack;
    let drPort: number;
    let root: string;
    let prodUrls: Record<string, string>;

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        workspace = throwawayWorkspace();
        root = `${hosts.hosts[0].dataFolder}/site`; // each host's own folder of that name
        const declared = JSON.stringify(
            Object.fromEntries(hosts.hosts.map((h, i) => [["a", "b"][i], { address: h.address, port: h.port, user: h.user, privateKey: hosts.clientKey, hostKey: h.hostKey, dataRoot: root }])),
        );
        prod = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: await freePort(), host: "a" } }),
            "stagewise:shipping": JSON.stringify({ logBackupInterval: "5s", shipInterval: "1s", applyDelay: "0s" }),
        });
        await prod.setConfig("stagewise:hosts", { value: declared, secret: true });
        await prod.up({ color: "never" });
        prodUrls = (await stageOutputs(prod)).connectionStrings as Record<string, string>;
        await queryUrl(prodUrls.business, "CREATE TABLE marker (n int PRIMARY KEY); INSERT INTO marker VALUES (1)");
        await queryUrl(prodUrls.config, `INSERT INTO "Server"."Server" VALUES ('prod-db', 'prod-host:5432'); INSERT INTO "HostServer"."LicenseKey" VALUES ('prod-db', 'LIC-PROD', NULL)`);

        drPort = await freePort();
        dr = await workspace.createStack("dr", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: drPort, host: "b" } }),
            "stagewise:disasterRecovery": JSON.stringify({ of: "organization/stagewise/prod", tier: "warm", applyDelay: "0s", shipInterval: "1s" }),
        });
        await dr.setConfig("stagewise:hosts", { value: declared, secret: true });
        await dr.setConfig("stagewise:licenseKey", { value: DR_KEY, secret: true });
    });

    afterAll(async () => {
        await destroyProtected(dr);
        await destroyProtected(prod);
        workspace?.dispose();
        await hosts?.stop(); // every process in the hosts ends with them
    });

    test("standing by on b: a base backup taken there, WAL shipped from a's archive, the warm server replaying it", async () => {
        await dr.up({ color: "never" });
        const out = await stageOutputs(dr);
        expect(out).toMatchObject({ site: "dr", servers: {}, cutover: null, dataRoot: root });
        expect(out.disasterRecovery).toMatchObject({ tier: "warm", state: "standing by", engineUnits: "off", server: { name: "prod-db", running: true, inRecovery: true } });
        expect(out.disasterRecovery!.baseBackups).toHaveLength(1);
        expect(out.disasterRecovery!.baseBackups[0]).toMatchObject({ verified: true });
        expect(hosts.ssh("b", `ls ${root}`).trim().split("\n").sort()).toEqual(expect.arrayContaining(["base-backups", "prod-db", "shipper", "wal-incoming"]));
        expect(hosts.ssh("b", `ls ${root}/base-backups`).trim()).toBe(out.disasterRecovery!.baseBackups[0].id);
        expect(fs.existsSync(root)).toBe(false);
        // A commit on a reaches the warm server on b (archived at the next switch, shipped within a second).
        await queryUrl(prodUrls.business, "INSERT INTO marker VALUES (2)");
        const source = (await stageOutputs(prod)).copySource as { host: string; port: number; superuserPassword: string };
        await queryUrl(`postgresql://postgres:${encodeURIComponent(source.superuserPassword)}@${source.host}:${source.port}/postgres`, "SELECT pg_switch_wal()");
        const onB = `postgresql://postgres:${encodeURIComponent(source.superuserPassword)}@${hosts.hosts[1].address}:${drPort}/business`;
        const count = async () => (await queryUrl<{ n: number }>(onB, "SELECT count(*)::int AS n FROM marker"))[0].n;
        const deadline = Date.now() + 60_000;
        while ((await count()) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
        expect(await count()).toBe(2);
    });

    test("cutover to the latest WAL on b: promoted with production's data and the DR site's licence rows", async () => {
        await queryUrl(prodUrls.business, "INSERT INTO marker VALUES (3)");
        await dr.setConfig("stagewise:cutover", { value: JSON.stringify({ latest: true }) });
        const up = await dr.up({ color: "never" });
        expect(up.stdout).toMatch(/cutover of prod-db: tail of the log: the old primary switched to a new WAL segment and archived/);
        const out = await stageOutputs(dr);
        const b = hosts.hosts[1].address;
        expect(out.disasterRecovery).toMatchObject({ state: "cut over", server: { running: true, inRecovery: false } });
        expect(out.servers["prod-db"]).toMatchObject({ host: b, port: drPort, endpoint: `${b}:${drPort}`, running: true });
        expect(out.cutover).toMatchObject({ target: "the latest archived WAL", licenceRowsReapplied: 2 });
        const urls = out.connectionStrings as Record<string, string>;
        expect(urls.business).toContain(`@${b}:${drPort}/`);
        expect(await queryUrl(urls.business, "SELECT n FROM marker ORDER BY n")).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
        expect(await queryUrl(urls.config, `SELECT "ServerName" || ' ' || "HostName" AS r FROM "Server"."Server"`)).toEqual([{ r: `prod-db ${b}:${drPort}` }]);
        await queryUrl(urls.business, "INSERT INTO marker VALUES (4)"); // writable: production now
        expect((await dr.preview({ color: "never", expectNoChanges: true })).changeSummary.update ?? 0).toBe(0);
    });
});
