// A failover after the primary's host is cut off its network, through the real engine: preview refuses
// while the host is only unreachable and says how to go on; declared lost, `up` promotes the standby on
// host b without contacting host a, and nothing is lost of what a acknowledged; once a is back and no
// longer declared lost, `up` ends the split brain: a's stale writable server rejoins as a standby
// (pg_rewind) or, when its WAL since the fork is gone, is stopped and reported for a rebuild.
import * as fs from "fs";
import { freePort, stageOutputs, throwawayProject, ThrowawayProject } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { eventually } from "../harness/wait";
import { startTestHosts, describeWithTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);

describeWithTestHosts("a failover after the primary's host is lost", () => {
    let hosts: TestHosts;
    let project: ThrowawayProject;
    let serverPort: number;
    let standbyPort: number;
    let business: string;
    const at = (url: string, i: number, p: number) => url.replace(/@([^/]+)\//, `@${hosts.hosts[i].address}:${p}/`);
    const onA = () => at(business, 0, serverPort);
    const onB = () => at(business, 1, standbyPort);

    const setHosts = async (aLost: boolean) => {
        const root = `${hosts.hosts[0].dataFolder}/prod`;
        const entry = (i: number) => {
            const h = hosts.hosts[i];
            return { address: h.address, port: h.port, user: h.user, privateKey: hosts.clientKey, hostKey: h.hostKey, dataRoot: root };
        };
        const config = { a: { ...entry(0), ...(aLost ? { lost: true } : {}) }, b: entry(1) };
        await project.stack.setConfig("stagewise:hosts", { value: JSON.stringify(config), secret: true });
    };

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        serverPort = await freePort();
        standbyPort = await freePort();
        project = await throwawayProject("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: serverPort, host: "a" } }),
            "stagewise:standbys": JSON.stringify({ "prod-hot": { tier: "hot", port: standbyPort, host: "b", synchronous: true } }),
        });
        await setHosts(false);
        await project.stack.up({ color: "never" });
        business = ((await stageOutputs(project.stack)).connectionStrings as Record<string, string>).business;
        await queryUrl(business, "CREATE TABLE acks (id bigint PRIMARY KEY); INSERT INTO acks VALUES (1), (2)");
    });

    afterAll(async () => {
        // The servers may be anywhere between lost and rejoined: the hosts' removal ends every process in them.
        await project?.dispose().catch(() => undefined); // refused while the stack still has resources
        await hosts?.stop();
        if (project) fs.rmSync(project.dir, { recursive: true, force: true });
    });

    test("with host a cut off, preview refuses to change the primary and says how to declare a lost", async () => {
        hosts.cutLink("a");
        await project.stack.setConfig("stagewise:primary", { value: "prod-hot" });
        await expect(project.stack.preview({ color: "never" })).rejects.toThrow(
            /host a \(127\.77\.\d+\.\d+:22\) is unreachable: .*declare it lost to go on without it \(pulumi config set --path hosts\.a\.lost true\)/,
        );
    });

    test("declared lost, up promotes prod-hot on host b without contacting host a, and warns what it left", async () => {
        await setHosts(true);
        const result = await project.stack.up({ color: "never" });
        expect(result.stdout).toContain("host a is declared lost (hosts.a.lost): prod-db (server) is not contacted and left as recorded");
        const out = await stageOutputs(project.stack);
        expect(out.primary).toEqual({
            name: "prod-hot",
            endpoint: `${hosts.hosts[1].address}:${standbyPort}`,
            lastChange: expect.objectContaining({ kind: "failover", from: "prod-db", to: "prod-hot", rejoined: [], needsRebuild: [], onLostHosts: ["prod-db"] }),
        });
        // Synchronous: both rows acknowledged on a are on b; b now takes writes.
        expect(await queryUrl(onB(), "SELECT id::int FROM acks ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }]);
        await queryUrl(onB(), "INSERT INTO acks VALUES (3)");
        expect((await project.stack.preview({ color: "never", expectNoChanges: true })).changeSummary.update).toBeUndefined();
    });

    test("host a back and no longer lost: up ends the split brain, rejoining its stale writable server or stopping it", async () => {
        hosts.restoreLink("a");
        await eventually("host a answering ssh after its link came back", async () => hosts.ssh("a", "true"), 60_000, 500);
        // Cut off, it never learnt of the failover: it still takes writes.
        expect(await queryUrl<{ r: boolean }>(onA(), "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
        await setHosts(false);
        const result = await project.stack.up({ color: "never" });
        expect(result.stdout).toContain("prod-db accepts writes again now that its host is back: it is a former primary left as it was; rejoining it as a standby of prod-hot");
        if (result.stdout.includes("prod-db could not rejoin")) {
            // pg_rewind needs a's WAL back to the fork point; a checkpoint on a may have recycled it.
            console.info("remoteFailover: prod-db could not rejoin (pg_rewind); checked that it is stopped");
            expect(result.stdout).toMatch(/prod-db could not rejoin \(pg_rewind failed on host a .*\); it stays stopped and needs a rebuild/);
            expect(hosts.ssh("a", `ss -Hltn 'sport = :${serverPort}'`).trim()).toBe(""); // nothing listens on host a any more
        } else {
            console.info("remoteFailover: prod-db rejoined through pg_rewind; checking its rows");
            expect(await queryUrl<{ r: boolean }>(onA(), "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: true }]);
            await eventually("row 3, written on prod-hot, replayed on prod-db", async () =>
                (await queryUrl<{ n: number }>(onA(), "SELECT count(*)::int AS n FROM acks"))[0].n === 3 ? true : undefined, 30_000, 200);
            expect(await queryUrl(onA(), "SELECT id::int FROM acks ORDER BY id")).toEqual([{ id: 1 }, { id: 2 }, { id: 3 }]);
        }
        expect(await queryUrl<{ r: boolean }>(onB(), "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    });
});
