// The staging copy between two machines (namespace hosts with their own sshd and private data folder,
// test/harness/testHosts.ts): production on host a, the staging server on host b, pg_basebackup run
// on b streaming from a. The copy, kill -9 of the copier at the boundaries where a remote program or
// the swap is at work, followed by recovery on b, and the refusal of a production b cannot reach.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { bootstrap, clusterStatus, connect, ClusterLocation } from "../../components/postgres/cluster";
import { copyDatabases, copyPathsOf, recoverInterruptedCopy, CopyRequest } from "../../components/copy/stagingCopy";
import { findPostgresBinDir, hostOf } from "../../components/platform/local";
import type { RemoteMachine } from "../../components/platform/platform";
import { engineBootstrap, runCluster, ENGINE_TABLES } from "../harness/postgres";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);

const REPO_ROOT = path.resolve(__dirname, "../..");
const DRIVER = path.join(REPO_ROOT, "test/harness/copyDriver.ts");
const PROD_SUPER = "prod-superuser-pw";
const TEST_SUPER = "test-superuser-pw";
const TEST_ENGINE = "test-engine-pw";
const STAGING_IDENTITY = [{ r: "TEST-1 test-host LIC-TEST" }];

describeWithTestHosts("the staging copy from host a onto host b", () => {
    let hosts: TestHosts;
    let prod: ClusterLocation;
    let staging: ClusterLocation;
    const children: ChildProcess[] = [];

    const machineOf = (i: number, name: string): RemoteMachine => {
        const h = hosts.hosts[i];
        return { name, address: h.address, port: h.port, user: h.user, privateKey: hosts.clientKey, hostKey: h.hostKey };
    };
    // Both on port 5432: two machines, two servers (the self-copy refusal compares addresses there).
    const locationOn = (i: number, name: string, server: string): ClusterLocation => ({
        binDir: findPostgresBinDir(undefined),
        serverDir: path.posix.join(hosts.hosts[i].dataFolder, server),
        host: hosts.hosts[i].address,
        port: 5432,
        osUser: "postgres",
        machine: machineOf(i, name),
    });
    const sql = async <T>(loc: ClusterLocation, password: string, database: string, text: string): Promise<T[]> => {
        const client = await connect(loc, password, database);
        try {
            return (await client.query(text)).rows as T[];
        } finally {
            await client.end();
        }
    };
    const documents = (loc: ClusterLocation, password: string) => sql<{ n: number; own: number }>(loc, password, "business", `SELECT count(*)::int AS n, count(*) FILTER (WHERE "Reference" LIKE 'TEST-%')::int AS own FROM "Business"."Document"`);
    const identity = (loc: ClusterLocation, password: string) =>
        sql<{ r: string }>(loc, password, "config", `SELECT s."ServerName" || ' ' || s."HostName" || ' ' || l."LicenseKey" AS r FROM "Server"."Server" s JOIN "HostServer"."LicenseKey" l USING ("ServerName") ORDER BY 1`);
    /** What a copy may leave in the staging server's folder on b: nothing but pgdata (with its log and socket). */
    const leftovers = () =>
        hosts.ssh("b", `ls -A ${staging.serverDir}`).trim().split("\n").filter((name) => !["pgdata", "server.log", ".s.PGSQL.5432", ".s.PGSQL.5432.lock"].includes(name));
    /** The copier's programs and temporary server on the incoming copy (the hosts share this machine's process list; "[p]" keeps pgrep's own shell out). */
    const copyProgramsOnB = () => {
        const incoming = copyPathsOf(staging).incoming;
        return hosts.ssh("b", `pgrep -af '[p]g_basebackup .*-D ${incoming}|[p]g_verifybackup ${incoming}|[p]ostgres -D ${incoming}' || true`).trim();
    };

    const request = (overrides: Partial<CopyRequest> = {}): CopyRequest => ({
        source: { host: prod.host, port: prod.port, superuserPassword: PROD_SUPER },
        target: staging,
        targetSuperuserPassword: TEST_SUPER,
        targetSettings: { work_mem: "8MB" },
        ownerRole: "engine",
        ownerPassword: TEST_ENGINE,
        databases: ["work", "business", "config"],
        identity: { database: "config", tables: [ENGINE_TABLES.server, ENGINE_TABLES.licenseKey] },
        ...overrides,
    });

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        prod = locationOn(0, "a", "prod-db");
        staging = locationOn(1, "b", "test-db");
        for (const loc of [prod, staging]) {
            hostOf(loc).makeFolder(loc.serverDir);
        }
        runCluster(prod, PROD_SUPER);
        await bootstrap(prod, PROD_SUPER, engineBootstrap("prod-engine-pw"));
        runCluster(staging, TEST_SUPER);
        await bootstrap(staging, TEST_SUPER, engineBootstrap(TEST_ENGINE));
        await sql(prod, PROD_SUPER, "business", `INSERT INTO "Business"."Document" ("Reference") SELECT 'DOC-' || g FROM generate_series(1, 3000) g`);
        await sql(prod, PROD_SUPER, "config", `INSERT INTO "Server"."Server" VALUES ('PROD-1', 'prod-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('PROD-1', 'LIC-PROD')`);
        await sql(staging, TEST_SUPER, "config", `INSERT INTO "Server"."Server" VALUES ('TEST-1', 'test-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('TEST-1', 'LIC-TEST')`);
        await sql(staging, TEST_SUPER, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('TEST-ONLY')`);
    });
    afterAll(async () => {
        for (const child of children) {
            if (child.exitCode === null) child.kill("SIGKILL");
        }
        await hosts?.stop(); // every process in the hosts ends with them
    });

    test("the copy is made on b from a: production's rows, staging's identity, nothing of it on this machine or left behind", async () => {
        const messages: string[] = [];
        const report = await copyDatabases({ ...request(), onProgress: (m) => messages.push(m) });
        expect(report).toMatchObject({ method: "pg_basebackup", verified: true, identityRowsRestored: 2 });
        expect(messages.some((m) => /^copied \d+ of \d+ kB \(\d+%\)$/.test(m))).toBe(true);
        expect(report.tables.find((t) => t.database === "business" && t.table === "Business.Document")?.rows).toBe(3000);
        expect(await documents(staging, TEST_SUPER)).toEqual([{ n: 3000, own: 0 }]);
        expect(await identity(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
        expect(await identity(prod, PROD_SUPER)).toEqual([{ r: "PROD-1 prod-host LIC-PROD" }]);
        await expect(connect(staging, PROD_SUPER)).rejects.toThrow(/password authentication failed/);
        expect(leftovers()).toEqual([]);
        expect(fs.existsSync(staging.serverDir)).toBe(false); // b's own folder: not on this machine
        expect(clusterStatus(staging)).toBe("running");
    });

    test("a production that does not answer on b is refused before anything is touched", async () => {
        await sql(staging, TEST_SUPER, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('TEST-KEPT')`);
        await expect(copyDatabases(request({ source: { host: "127.0.0.1", port: 1, superuserPassword: PROD_SUPER } }))).rejects.toThrow(
            "production's server 127.0.0.1:1 does not answer on host b (pg_isready there), where the copy is made: put production's servers on hosts that host can reach",
        );
        expect(await documents(staging, TEST_SUPER)).toEqual([{ n: 3001, own: 1 }]);
        expect(leftovers()).toEqual([]);
    });

    /** copyDatabases in a process of its own (as the engine's provider runs it), its output collected. */
    const copyInChild = (env: Record<string, string> = {}) => {
        const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", DRIVER], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
        children.push(child);
        let output = "";
        child.stdout!.on("data", (c) => (output += String(c)));
        child.stderr!.on("data", (c) => (output += String(c)));
        child.stdin!.end(JSON.stringify(request()));
        const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
        const waitFor = async (text: string) => {
            const deadline = Date.now() + 120_000;
            while (!output.includes(text) && child.exitCode === null && Date.now() < deadline) {
                await new Promise((r) => setTimeout(r, 50));
            }
        };
        return { child, exited, waitFor, output: () => output };
    };

    test("the link to b cut mid-copy: the copy fails naming b; with the link back, recovery cleans up and b serves its own databases", async () => {
        const before = await documents(staging, TEST_SUPER);
        const run = copyInChild();
        await run.waitFor("progress: copying ");
        hosts.cutLink("b");
        const started = Date.now();
        try {
            await run.exited;
        } finally {
            hosts.restoreLink("b");
        }
        const seconds = (Date.now() - started) / 1000;
        expect(run.child.exitCode).toBe(1);
        expect(run.output()).toMatch(/copy from 127\.77\.\d+\.\d+:5432 onto \S+\/test-db failed: .*host b \(127\.77\.\d+\.\d+:22\)/);
        expect(run.output()).toContain("and putting the previous databases back failed too");
        expect(seconds).toBeLessThan(120); // the connection's keepalive gives up: it does not hang
        // A link just brought up takes a moment before b is reachable again (neighbour discovery).
        const reachable = Date.now() + 30_000;
        while (!(await documents(staging, TEST_SUPER).then(() => true, () => false)) && Date.now() < reachable) await new Promise((r) => setTimeout(r, 250));
        expect(await documents(staging, TEST_SUPER)).toEqual(before);
        // A request the copier's connection had queued may still reach b when the link returns (this
        // machine's TCP retransmits it with the connection's close) and start a program there late. So,
        // as an operator running `up` again would: recover until 20 s pass with nothing left to do.
        const outcomes: string[] = [];
        let quietSince = Date.now();
        const deadline = Date.now() + 120_000;
        while (Date.now() - quietSince < 20_000 && Date.now() < deadline) {
            const { outcome } = await recoverInterruptedCopy(staging);
            outcomes.push(outcome);
            if (outcome !== "none" || copyProgramsOnB() !== "") quietSince = Date.now();
            await new Promise((r) => setTimeout(r, 1_000));
        }
        expect(outcomes[0]).toBe("cleaned");
        expect(outcomes.at(-1)).toBe("none");
        expect(copyProgramsOnB()).toBe("");
        expect(leftovers()).toEqual([]);
        expect(await documents(staging, TEST_SUPER)).toEqual(before);
        expect(await identity(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
    });

    // Where a remote program works for the copier (pg_basebackup done, the temporary server on b) and
    // both sides of the swap's commit point; the copier runs here, its programs on b.
    test.each<[string, string, "previous" | "copy"]>([
        ["incoming-copied", "cleaned", "previous"],
        ["temporary-server", "cleaned", "previous"],
        ["previous-moved", "rolled back", "previous"],
        ["copy-moved", "completed", "copy"],
    ])("kill -9 of the copier at %s: its programs on b end, recovery on b ends %s, and b serves the %s", async (point, outcome, serves) => {
        await sql(prod, PROD_SUPER, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('DOC-${point}')`);
        const before = await documents(staging, TEST_SUPER);
        const expected = serves === "copy" ? await documents(prod, PROD_SUPER) : before;
        const run = copyInChild({ STAGEWISE_COPY_KILL_POINT: point });
        await run.waitFor(`kill point: ${point}`);
        expect(run.child.exitCode).toBeNull();
        expect(run.output()).toContain(`kill point: ${point}`);
        run.child.kill("SIGKILL");
        await run.exited;
        // Its programs on b end with its connection (the remote watchdog).
        const programsDeadline = Date.now() + 15_000;
        while (copyProgramsOnB() !== "" && Date.now() < programsDeadline) {
            await new Promise((r) => setTimeout(r, 200));
        }
        expect(copyProgramsOnB()).toBe("");

        const recovery = await recoverInterruptedCopy(staging);
        expect(recovery.outcome).toBe(outcome);
        expect(clusterStatus(staging)).toBe("running");
        expect(await documents(staging, TEST_SUPER)).toEqual(expected);
        expect(await identity(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
        expect(leftovers()).toEqual([]);
        expect(await recoverInterruptedCopy(staging)).toEqual({ outcome: "none", actions: [] });
    });
});
