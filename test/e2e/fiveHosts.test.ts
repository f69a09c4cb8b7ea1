// The example topology of examples/hosts, brought up end to end on five namespace hosts through the
// real engine, from its own stack files (hosts, ports, members and tiers as written; the test hosts'
// addresses and keys put in, and the runbook's hours shortened to seconds): production's primary on a,
// a synchronous hot standby on b, a warm standby on c fed by shipped WAL; the test stage on d, bound to
// production and copied from it; the DR site on e standing by. Then, each through `pulumi up` and each
// checked by reading the rows on the hosts: a DR cutover on e to a named restore point, a planned
// switchover a to b (and back) with writes running and no acknowledged commit lost, a failover after
// a's network is cut (refused by preview until a is declared lost), and a's return: its stale writable
// server rejoins as a standby (pg_rewind) or, when its WAL since the fork is gone, is stopped for a rebuild.
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT, stageOutputs, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { eventually } from "../harness/wait";
import { missingCountSql, startWriters, waitForCommits } from "../harness/writers";
import { describeWithTestHosts, hostsConfig, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(600_000);

const EXAMPLE = path.join(REPO_ROOT, "examples", "hosts");
const DR_KEY = "LIC-DR-on-e-SECRET";
const PORT = 5432; // the example's: every member on its own machine, all on PostgreSQL's usual port

describeWithTestHosts("the five-host example topology (examples/hosts)", () => {
    let hosts: TestHosts;
    let workspace: ThrowawayWorkspace;
    const stacks = {} as Record<"prod" | "test" | "dr", Stack>;
    let superuserPassword: string;
    const on = (host: string, database = "business") => `postgresql://postgres:${encodeURIComponent(superuserPassword)}@${hosts.host(host).address}:${PORT}/${database}`;
    const markers = async (host: string) => (await queryUrl<{ n: number }>(on(host), "SELECT n FROM marker ORDER BY n")).map((r) => r.n);
    const inRecovery = async (host: string) => (await queryUrl<{ r: boolean }>(on(host), "SELECT pg_is_in_recovery() AS r"))[0].r;
    const business = async (stack: Stack) => ((await stageOutputs(stack)).connectionStrings as Record<string, string>).business;
    const switchWal = async (host: string) => queryUrl(on(host, "postgres"), "SELECT pg_switch_wal()");

    /** A config value of the stack's file, parsed: objects come back from the engine as JSON. */
    const fileConfig = async (stack: Stack, key: string) => JSON.parse((await stack.getConfig(`stagewise:${key}`)).value) as Record<string, unknown>;
    /** The stack file's `hosts`, each name now the test host of that name. */
    const declareTestHosts = async (stack: Stack, extra: Record<string, Record<string, unknown>> = {}) => {
        const names = Object.keys(await fileConfig(stack, "hosts"));
        await stack.setConfig("stagewise:hosts", { value: JSON.stringify(hostsConfig(hosts, names, `${hosts.host("a").dataFolder}/stagewise`, extra)), secret: true });
    };

    beforeAll(async () => {
        hosts = await startTestHosts(5);
        workspace = throwawayWorkspace();
        for (const name of ["prod", "test", "dr"] as const) {
            fs.copyFileSync(path.join(EXAMPLE, `Pulumi.${name}.yaml`), path.join(workspace.projectDir, `Pulumi.${name}.yaml`));
            // This machine's own folder of the stage (always claimed) in the throwaway workspace, not the checkout's .stagewise.
            stacks[name] = await workspace.createStack(name, { "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: path.join(workspace.dir, "data", name) }) });
            await declareTestHosts(stacks[name]);
        }
        // The runbook's hours (archive hourly, apply after 3h) in seconds, so a commit is seen within the test.
        await stacks.prod.setConfig("stagewise:shipping", { value: JSON.stringify({ logBackupInterval: "5s", shipInterval: "1s", applyDelay: "0s" }) });
        const dr = await fileConfig(stacks.dr, "disasterRecovery");
        await stacks.dr.setConfig("stagewise:disasterRecovery", { value: JSON.stringify({ ...dr, applyDelay: "0s", shipInterval: "1s" }) });
        await stacks.dr.setConfig("stagewise:licenseKey", { value: DR_KEY, secret: true });
    });

    afterAll(async () => {
        // Production ends with a lost host and the DR site cut over: the hosts' removal ends every server in them.
        await hosts?.stop();
        workspace?.dispose();
    });

    test("up of production, test and DR: each member on its host, the rows on b, c, d and e", async () => {
        await stacks.prod.up({ color: "never" });
        const prod = await stageOutputs(stacks.prod);
        superuserPassword = (prod.copySource as { superuserPassword: string }).superuserPassword;
        expect(prod.servers["prod-db"]).toMatchObject({ host: hosts.host("a").address, port: PORT, running: true });
        expect(prod.standbys?.["prod-hot"]).toMatchObject({ synchronous: true, syncState: "sync", role: "standby", running: true, streaming: true });
        expect(prod.standbys?.["prod-warm"]).toMatchObject({ tier: "warm", running: true });
        // The group on two machines: each archives on its own host (a standby what it receives), read in turn.
        expect(prod.logShipping?.archiveSources).toEqual([{ host: hosts.host("a").address, port: PORT }, { host: hosts.host("b").address, port: PORT }]);
        expect(await queryUrl(on("b", "postgres"), "SELECT current_setting('archive_mode') AS m")).toEqual([{ m: "always" }]);
        // As the engine's owner, so that the test stage's own owner reads it on d after the copy.
        await queryUrl(await business(stacks.prod), "CREATE TABLE marker (n int PRIMARY KEY); INSERT INTO marker VALUES (1)");
        await queryUrl(on("a", "config"), `INSERT INTO "Server"."Server" VALUES ('prod-db', 'prod-host:5432'); INSERT INTO "HostServer"."LicenseKey" VALUES ('prod-db', 'LIC-PROD', NULL)`);
        expect(await markers("b")).toEqual([1]); // synchronous: there once the insert returned

        await stacks.test.up({ color: "never" });
        const test = await stageOutputs(stacks.test);
        expect(test.servers["test-db"]).toMatchObject({ host: hosts.host("d").address, port: PORT, running: true });
        expect(test.lastCopy).toMatchObject({ trigger: "first", verified: true, sourceSystemIdentifier: prod.servers["prod-db"].systemIdentifier });
        // d has test's own passwords since the copy: read as its engine owner.
        expect(await queryUrl(await business(stacks.test), "SELECT n FROM marker ORDER BY n")).toEqual([{ n: 1 }]);
        expect(await queryUrl(on("a", "config"), `SELECT "StagingServer" AS s FROM "stagewise"."LockBinding"`)).toEqual([{ s: "test-db" }]);

        await stacks.dr.up({ color: "never" });
        expect((await stageOutputs(stacks.dr)).disasterRecovery).toMatchObject({ tier: "warm", state: "standing by", server: { name: "prod-db", running: true, inRecovery: true } });
        // A commit on a reaches the warm standby on c and the DR site on e, through a's archive.
        await queryUrl(on("a"), "INSERT INTO marker VALUES (2)");
        await switchWal("a");
        for (const host of ["c", "e"]) {
            await eventually(`marker 2 replayed on ${host}`, async () => ((await markers(host)).length === 2 ? true : undefined), 60_000, 500);
            expect(await markers(host)).toEqual([1, 2]);
        }
        // Nothing of any stage on the deploying machine.
        expect(fs.existsSync(`${hosts.host("a").dataFolder}/stagewise`)).toBe(false);
    });

    test("DR cutover on e to a named restore point: exactly the markers before it, and the site's own licence", async () => {
        // Three transactions (one query string would be one transaction, committed after the restore point).
        for (const sql of ["INSERT INTO marker VALUES (3)", "SELECT pg_create_restore_point('before-4')", "INSERT INTO marker VALUES (4)"]) await queryUrl(on("a"), sql);
        await switchWal("a");
        await stacks.dr.setConfig("stagewise:cutover", { value: JSON.stringify({ targetName: "before-4" }) });
        await stacks.dr.up({ color: "never" });
        const dr = await stageOutputs(stacks.dr);
        expect(dr.disasterRecovery).toMatchObject({ state: "cut over", server: { running: true, inRecovery: false } });
        expect(dr.cutover).toMatchObject({ target: 'restore point "before-4"', licenceRowsReapplied: 2 });
        expect(await markers("e")).toEqual([1, 2, 3]);
        expect(await queryUrl(on("e", "config"), `SELECT "ServerName" || ' ' || "HostName" AS r FROM "Server"."Server"`)).toEqual([{ r: `prod-db ${hosts.host("e").address}:${PORT}` }]);
        expect(await markers("a")).toEqual([1, 2, 3, 4]); // production goes on
    });

    test("a planned switchover a to b and back, with writes running, loses no acknowledged commit", async () => {
        await queryUrl(await business(stacks.prod), "CREATE TABLE acks (id bigint PRIMARY KEY)");
        for (const [to, from, primaryHost, standbyHost, firstId] of [["prod-hot", "prod-db", "b", "a", 1], ["prod-db", "prod-hot", "a", "b", 1_000_000]] as const) {
            await stacks.prod.setConfig("stagewise:primary", { value: to });
            // Clients of the primary before the change (the outputs follow the declared primary once up is done).
            const writers = startWriters({ connectionString: await business(stacks.prod) }, "acks", 4, firstId);
            await waitForCommits(writers, 200);
            await stacks.prod.up({ color: "never" });
            const acked = await writers.stop();
            expect((await stageOutputs(stacks.prod)).primary).toMatchObject({ name: to, endpoint: `${hosts.host(primaryHost).address}:${PORT}`, lastChange: { kind: "switchover", from, to, rejoined: [from] } });
            expect(await queryUrl(on(primaryHost), missingCountSql("acks").replace("$1", `'{${acked.join(",")}}'`))).toEqual([{ missing: 0 }]);
            expect(await inRecovery(primaryHost)).toBe(false);
            expect(await inRecovery(standbyHost)).toBe(true);
        }
    });

    test("with a's link cut, preview refuses to fail over and says how to declare a lost", async () => {
        await queryUrl(on("a"), "INSERT INTO marker VALUES (5)");
        hosts.cutLink("a");
        await stacks.prod.setConfig("stagewise:primary", { value: "prod-hot" });
        await expect(stacks.prod.preview({ color: "never" })).rejects.toThrow(
            /host a \(127\.77\.\d+\.\d+:22\) is unreachable: .*declare it lost to go on without it \(pulumi config set --path hosts\.a\.lost true\)/,
        );
    });

    test("a declared lost: up promotes b without contacting a, every acknowledged row there, and warns what it left", async () => {
        await declareTestHosts(stacks.prod, { a: { lost: true } });
        const up = await stacks.prod.up({ color: "never" });
        expect(up.stdout).toContain("host a is declared lost (hosts.a.lost): prod-db (server) is not contacted and left as recorded");
        expect((await stageOutputs(stacks.prod)).primary).toEqual({
            name: "prod-hot",
            endpoint: `${hosts.host("b").address}:${PORT}`,
            lastChange: expect.objectContaining({ kind: "failover", from: "prod-db", to: "prod-hot", rejoined: [], needsRebuild: [], onLostHosts: ["prod-db"] }),
        });
        expect(await markers("b")).toEqual([1, 2, 3, 4, 5]); // synchronous: what a acknowledged is on b
        await queryUrl(on("b"), "INSERT INTO marker VALUES (6)");
        // Promoted, b archives into the same folder path on its own host (made there for it).
        const archive = (await stageOutputs(stacks.prod)).logShipping!.archive;
        const segment = (await queryUrl<{ s: string }>(on("b", "postgres"), "SELECT pg_walfile_name(pg_switch_wal()) AS s"))[0].s;
        await eventually(`${segment} archived on b`, async () => ((await queryUrl<{ w: string | null }>(on("b", "postgres"), "SELECT last_archived_wal AS w FROM pg_stat_archiver"))[0].w === segment ? true : undefined), 30_000, 200);
        expect(await queryUrl(on("b", "postgres"), "SELECT failed_count::int AS n FROM pg_stat_archiver")).toEqual([{ n: 0 }]);
        expect(hosts.ssh("b", `ls ${archive}`).split("\n")).toContain(segment);
        // The warm standby on c follows: its shipper reads b's archive now (the lost a is no source).
        const prod = await stageOutputs(stacks.prod);
        expect(prod.logShipping?.archiveSources).toEqual([{ host: hosts.host("b").address, port: PORT }]);
        // Staging copies and the DR site's base backups come from b now, not from the lost a.
        expect(prod.copySource).toEqual({ host: hosts.host("b").address, port: PORT, superuserPassword });
        await eventually("marker 6, written on b after the failover, replayed on the warm standby c", async () => ((await markers("c")).length === 6 ? true : undefined), 60_000, 500);
        expect(await markers("c")).toEqual([1, 2, 3, 4, 5, 6]);
        expect((await stacks.prod.preview({ color: "never", expectNoChanges: true })).changeSummary.update).toBeUndefined();
    });

    test("a back and no longer lost: up ends the split brain, rejoining a's stale writable server or stopping it", async () => {
        hosts.restoreLink("a");
        await eventually("host a answering ssh after its link came back", async () => hosts.ssh("a", "true"), 60_000, 500);
        expect(await inRecovery("a")).toBe(false); // cut off, it never learnt of the failover
        await declareTestHosts(stacks.prod);
        const up = await stacks.prod.up({ color: "never" });
        expect(up.stdout).toContain("prod-db accepts writes again now that its host is back: it is a former primary left as it was; rejoining it as a standby of prod-hot");
        if (up.stdout.includes("prod-db could not rejoin")) {
            // pg_rewind needs a's WAL back to the fork point; a checkpoint on a may have recycled it.
            console.info("fiveHosts: prod-db could not rejoin (pg_rewind); checked that it is stopped");
            expect(up.stdout).toMatch(/prod-db could not rejoin \(pg_rewind failed on host a .*\); it stays stopped and needs a rebuild/);
            expect(hosts.ssh("a", `ss -Hltn 'sport = :${PORT}'`).trim()).toBe(""); // nothing listens on host a any more
        } else {
            console.info("fiveHosts: prod-db rejoined through pg_rewind; checking its rows");
            expect(await inRecovery("a")).toBe(true);
            await eventually("marker 6, written on prod-hot, replayed on prod-db", async () => ((await markers("a")).length === 6 ? true : undefined), 30_000, 200);
            expect(await markers("a")).toEqual([1, 2, 3, 4, 5, 6]);
        }
        expect(await inRecovery("b")).toBe(false);
    });
});
