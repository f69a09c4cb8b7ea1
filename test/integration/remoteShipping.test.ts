// Log shipping between two machines (namespace hosts, test/harness/testHosts.ts): production's
// primary on host a archives into its own folder there; a shipper on host b reads that archive
// through PostgreSQL (no SSH between the hosts) into b's incoming folder, each file once, checked
// for size; with the primary gone, or a's link cut, it reports the error and catches up afterwards.
import * as fs from "fs";
import { bootstrap, connect, startCluster, stopCluster, writeSettings, ClusterLocation } from "../../components/postgres/cluster";
import { findPostgresBinDir, hostOf } from "../../components/platform/local";
import type { RemoteMachine } from "../../components/platform/platform";
import { archiveSettings, planLogShipping } from "../../components/shipping/schedule";
import { shipperStatus, startShipper, stopShipper, waitForShippingRun, ShipperSpec } from "../../components/shipping/shipper";
import { engineBootstrap, runCluster } from "../harness/postgres";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);

const SUPER = "superuser-pw:with'odd\\chars";
const BIN = findPostgresBinDir(undefined);

describeWithTestHosts("log shipping from host a's archive to host b", () => {
    let hosts: TestHosts;
    let primary: ClusterLocation;
    let spec: ShipperSpec;
    let archive: string;
    let machineB: RemoteMachine;

    const switchWal = async (): Promise<string> => {
        const client = await connect(primary, SUPER);
        try {
            await client.query("CREATE TABLE IF NOT EXISTS marks (n int); INSERT INTO marks VALUES (1)");
            return (await client.query("SELECT pg_walfile_name(pg_switch_wal()) AS f")).rows[0].f as string;
        } finally {
            await client.end();
        }
    };
    const archivedOnA = () => hosts.ssh("a", `ls ${archive}`).trim().split("\n").filter(Boolean);
    const incomingOnB = () => hosts.ssh("b", `ls -A ${spec.to}`).trim().split("\n").filter(Boolean);

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        const machine = (i: number, name: string): RemoteMachine => {
            const h = hosts.hosts[i];
            return { name, address: h.address, port: h.port, user: h.user, privateKey: hosts.clientKey, hostKey: h.hostKey };
        };
        machineB = machine(1, "b");
        const root = hosts.hosts[0].dataFolder;
        archive = `${root}/prod/wal-archive`;
        primary = { binDir: BIN, serverDir: `${root}/prod/prod-db`, host: hosts.hosts[0].address, port: 5432, osUser: "postgres", machine: machine(0, "a") };
        hostOf(primary).makeFolder(primary.serverDir);
        hostOf(primary).makeFolder(archive);
        runCluster(primary, SUPER);
        const plan = planLogShipping({ rpo: "1h", logBackupInterval: "10m", shipInterval: "1s", applyDelay: "0s" });
        if (!plan.ok) throw new Error(plan.problems.join("; "));
        writeSettings(primary, archiveSettings(plan.plan, archive));
        stopCluster(primary);
        startCluster(primary);
        await bootstrap(primary, SUPER, engineBootstrap("engine-pw"));
        const receiver = `${hosts.hosts[1].dataFolder}/prod/shipping/prod-warm`;
        spec = {
            from: archive,
            to: `${receiver}/incoming`,
            stateDir: `${receiver}/state`,
            intervalMs: 1_000,
            osUser: "postgres",
            machine: machineB,
            pull: { primary: { host: primary.host, port: primary.port, superuserPassword: SUPER }, binDir: BIN },
        };
    });
    afterAll(async () => {
        if (spec) await stopShipper(spec.stateDir, machineB).catch(() => undefined);
        await hosts?.stop();
    });

    test("a shipper on b ships a's archived segments into b's incoming folder, byte for byte, each once", async () => {
        const closed = await switchWal();
        const deadline = Date.now() + 30_000;
        while (!archivedOnA().includes(closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        const pid = startShipper(spec);
        expect(startShipper(spec)).toBe(pid); // one shipper per state folder
        let status = await waitForShippingRun(spec.stateDir, 30_000, machineB);
        status = await waitForShippingRun(spec.stateDir, 30_000, machineB); // a run that began after the segment was archived
        expect(status).toMatchObject({ running: true, lastError: null, newestShipped: closed });
        expect(status.newestShippedArchivedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
        expect(incomingOnB()).toEqual(archivedOnA());
        const sums = (host: string, dir: string) => hosts.ssh(host, `cd ${dir} && sha256sum ${closed}`).trim();
        expect(sums("b", spec.to)).toBe(sums("a", archive));
        expect(hosts.ssh("b", `stat -c '%U %a' ${spec.stateDir}/.pgpass`).trim()).toBe("postgres 600");
        expect(fs.existsSync(spec.to)).toBe(false); // b's own folder
        // Shipped once: a file applied and moved away is not shipped again.
        hosts.ssh("b", `rm ${spec.to}/${closed}`);
        await waitForShippingRun(spec.stateDir, 30_000, machineB);
        expect(incomingOnB()).not.toContain(closed);
        // The password is in the 0600 file only, never on the shipper's command line.
        expect(hosts.ssh("b", `cat /proc/${pid}/cmdline | tr '\\0' ' '`)).not.toContain("superuser-pw");
    });

    test("with the primary down the shipper says why; once it is back, shipping resumes", async () => {
        stopCluster(primary);
        try {
            const status = await waitForShippingRun(spec.stateDir, 30_000, machineB);
            expect(status.lastError).toMatch(/^reading the archive .*wal-archive on the primary failed: .*(Connection refused|could not connect)/);
        } finally {
            startCluster(primary);
        }
        const closed = await switchWal();
        const deadline = Date.now() + 30_000;
        while (!incomingOnB().includes(closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        expect(incomingOnB()).toContain(closed);
        expect(shipperStatus(spec.stateDir, machineB)).toMatchObject({ running: true });
        expect((await waitForShippingRun(spec.stateDir, 30_000, machineB)).lastError).toBeNull();
    });

    test("a partition between the hosts (a's link cut): the shipper on b says why; with the link back it catches up", async () => {
        hosts.cutLink("a");
        let during;
        try {
            during = await waitForShippingRun(spec.stateDir, 60_000, machineB); // a run that began after the cut
        } finally {
            hosts.restoreLink("a");
        }
        expect(during.lastError).toMatch(/^reading the archive .*wal-archive on the primary failed: .*(timeout|timed out)/);
        // A link just brought up takes a moment before a is reachable again (neighbour discovery).
        const reachable = Date.now() + 30_000;
        let closed = "";
        while (closed === "" && Date.now() < reachable) {
            closed = await switchWal().catch(() => "");
            if (closed === "") await new Promise((r) => setTimeout(r, 250));
        }
        const deadline = Date.now() + 30_000;
        while (!incomingOnB().includes(closed) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        expect(incomingOnB()).toContain(closed);
        // Every file of a's archive has been shipped once (the one removed in the first test included).
        expect(hosts.ssh("b", `ls ${spec.stateDir}/shipped`).trim().split("\n")).toEqual(archivedOnA());
    });
});
