// A production stage whose server runs on another machine (a namespace host with its own sshd and
// private data folder, test/harness/testHosts.ts), through the real engine: the data lives on that
// host only, clients reach it at the host's address, the private key stays a secret in the state,
// and a host that is not the pinned one is refused at preview before anything changes.
import * as fs from "fs";
import * as path from "path";
import { fingerprintOf } from "../../components/platform/sshConnection";
import { freePort, stageOutputs, throwawayProject, ThrowawayProject, unprotectAll } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { startTestHosts, describeWithTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);


describeWithTestHosts("a production server on a remote host", () => {
    let hosts: TestHosts;
    let project: ThrowawayProject;
    let port: number;
    let root: string;

    const hostsConfig = (overrides: Record<string, unknown> = {}) => {
        const a = hosts.hosts[0];
        return { a: { address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey, dataRoot: root, ...overrides } };
    };

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        port = await freePort();
        root = `${hosts.hosts[0].dataFolder}/prod`;
        project = await throwawayProject("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port, host: "a" } }),
        });
        await project.stack.setConfig("stagewise:hosts", { value: JSON.stringify(hostsConfig()), secret: true });
    });

    afterAll(async () => {
        // Production is protected: a failed test leaves its server to the hosts' removal (every process in them ends).
        await project?.stack.destroy({ color: "never" }).catch(() => undefined);
        await project?.dispose().catch(() => undefined);
        await hosts?.stop();
    });

    test("up creates the server on host a: its data there only, reachable at the host's address", async () => {
        const result = await project.stack.up({ color: "never" });
        expect(result.summary.resourceChanges).toEqual({ create: 11 });
        const out = await stageOutputs(project.stack);
        const address = hosts.hosts[0].address;
        expect(out.servers["prod-db"]).toMatchObject({ host: address, port, endpoint: `${address}:${port}`, running: true });
        expect(out.dataRoot).toBe(root);
        // Read on host a by a command:remote:Command (the key pinned, the connection a secret in the state).
        expect(out.postgresVersion).toBe(hosts.ssh("a", "$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)/postgres --version").trim());
        if (out.connectionStrings === "[secret]") {
            throw new Error("outputs() should show secrets");
        }
        expect(out.connectionStrings.config).toContain(`@${address}:${port}/config`);
        const tables = await queryUrl<{ t: string }>(out.connectionStrings.config, "SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname = 'Server' ORDER BY 1");
        expect(tables).toEqual([{ t: "Server.Server" }]);
        // The server's files are host a's own: there, owned by postgres; not on this machine, not on host b.
        expect(hosts.ssh("a", `stat -c '%U %a' ${root}/prod-db/pgdata`).trim()).toBe("postgres 700");
        expect(hosts.ssh("a", `cat ${root}/prod-db/pgdata/PG_VERSION`).trim()).toMatch(/^\d+$/);
        expect(fs.existsSync(`${root}/prod-db`)).toBe(false);
        expect(hosts.ssh("b", `ls ${root} 2>&1 || true`)).toMatch(/No such file/);
        // Its postmaster runs on host a (its own network namespace), listening on the host's address.
        expect(hosts.ssh("a", `ss -Hltn 'sport = :${port}' | awk '{print $4}'`).trim()).toBe(`${address}:${port}`);
    });

    test("the private key is a secret in the state, and a second up changes nothing", async () => {
        // The state as the backend keeps it on disk (an export would show secrets decrypted).
        const stateFiles = (dir: string): string[] =>
            fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? stateFiles(path.join(dir, e.name)) : e.name.endsWith(".json") ? [path.join(dir, e.name)] : []));
        const files = stateFiles(path.join(project.dir, "state"));
        expect(files.length).toBeGreaterThan(0);
        const state = files.map((f) => fs.readFileSync(f, "utf8")).join("\n");
        expect(state).toContain("stagewise:DataRoot");
        const keyBody = hosts.clientKey.split("\n")[1];
        expect(keyBody.length).toBeGreaterThan(20);
        expect(state).not.toContain(keyBody);
        const again = await project.stack.up({ color: "never" });
        expect(again.summary.resourceChanges).toEqual({ same: 11 });
    });

    test("a host presenting another key than the pinned one is refused at preview, naming it and both fingerprints", async () => {
        const wrong = hosts.hosts[1].hostKey;
        await project.stack.setConfig("stagewise:hosts", { value: JSON.stringify(hostsConfig({ hostKey: wrong })), secret: true });
        try {
            await expect(project.stack.preview({ color: "never" })).rejects.toThrow(
                `host a (${hosts.hosts[0].address}:22): its host key is not the pinned one: it presented ${fingerprintOf(hosts.hosts[0].hostKey)}, hosts.a.hostKey is ${fingerprintOf(wrong)}`,
            );
        } finally {
            await project.stack.setConfig("stagewise:hosts", { value: JSON.stringify(hostsConfig()), secret: true });
        }
        expect(hosts.ssh("a", `cat ${root}/prod-db/pgdata/PG_VERSION`).trim()).toMatch(/^\d+$/);
    });

    test("destroy (protection lifted) stops the server and removes its folder on host a", async () => {
        unprotectAll(project.stack);
        await project.stack.destroy({ color: "never" });
        expect(hosts.ssh("a", `ls -A ${hosts.hosts[0].dataFolder}`).trim()).toBe("");
        expect(hosts.ssh("a", `pgrep -f '[p]ostgres -D ${root}' || true`).trim()).toBe("");
    });

    // A replication group across hosts (hot standby, switchover, failover): test/e2e/fiveHosts.test.ts.
});
