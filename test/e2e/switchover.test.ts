// Switchover and failover through the real engine: a synchronous hot standby under write load,
// the primary killed with kill -9, `primary` changed and `up` fails over with every acknowledged
// commit kept; a planned switchover with writes running loses none and the old primary streams
// from the new one; switching back works.
import { Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findPostgresBinDir } from "../../components/platform/local";
import { freePort, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import type { StageOutputs } from "../../components/outputs";
import { queryUrl, stopByHand } from "../harness/postgres";
import { streamingHotStandby } from "../harness/expected";
import { missingCountSql, startWriters, waitForCommits } from "../harness/writers";
import { downStages } from "../../scripts/stages";

jest.setTimeout(900_000);

let workspace: ThrowawayWorkspace;

beforeAll(() => {
    workspace = throwawayWorkspace();
});

afterAll(() => workspace?.dispose());

/** Runs `sql` through psql (libpq: multi-host URLs and target_session_attrs), password via the environment. */
function psql(url: string, sql: string): string {
    const [, user, password, rest] = /^postgresql:\/\/([^:]+):([^@]+)@(.+)$/.exec(url)!;
    return childProcess
        .execFileSync(path.join(findPostgresBinDir(undefined), "psql"), [`postgresql://${user}@${rest}`, "-XAtc", sql], {
            env: { ...process.env, PGPASSWORD: decodeURIComponent(password) },
            encoding: "utf8",
        })
        .trim();
}

/** The same database URL, on another member's port. */
function onPort(url: string, port: number): string {
    return url.replace(/@([^/]+)\//, `@127.0.0.1:${port}/`);
}

/** The superuser's URL of a member (production exports its superuser password as the secret copySource). */
async function superuserOn(stack: Stack, port: number): Promise<string> {
    const source = (await stageOutputs(stack)).copySource as { superuserPassword: string };
    return `postgresql://postgres:${encodeURIComponent(source.superuserPassword)}@127.0.0.1:${port}/postgres`;
}

async function inRecovery(url: string): Promise<boolean> {
    return (await queryUrl<{ r: boolean }>(url, "SELECT pg_is_in_recovery() AS r"))[0].r;
}

/** Production stack `name` with hot standby `<name>-hot` on a free port (`standby`: its further settings), brought up: the stack, that port and its outputs. */
async function upWithHotStandby(name: string, standby: Record<string, unknown> = {}): Promise<{ stack: Stack; standbyPort: number; out: StageOutputs }> {
    const standbyPort = await freePort();
    const stack = await stageStack(workspace, name, "production", { standbys: { [`${name}-hot`]: { tier: "hot", port: standbyPort, ...standby } } });
    await stack.up({ color: "never" });
    return { stack, standbyPort, out: await stageOutputs(stack) };
}

describe("failover to a synchronous hot standby", () => {
    let prod: Stack;
    let standbyPort: number;
    let primaryPort: number;
    let business: string;

    test("up: the standby is synchronous (application_name, sync_state sync)", async () => {
        let out: StageOutputs;
        ({ stack: prod, standbyPort, out } = await upWithHotStandby("prod", { synchronous: true }));
        primaryPort = out.servers["prod-db"].port;
        expect(out.standbys?.["prod-hot"]).toEqual(streamingHotStandby(standbyPort, "stagewise_prod_hot", true));
        expect(out.primary).toEqual({ name: "prod-db", endpoint: `127.0.0.1:${primaryPort}`, lastChange: null });
        business = (out.connectionStrings as Record<string, string>).business;
        expect(await queryUrl(await superuserOn(prod, primaryPort), "SELECT application_name, sync_state FROM pg_stat_replication")).toEqual([{ application_name: "prod-hot", sync_state: "sync" }]);
        expect(await queryUrl(business, "SELECT current_setting('synchronous_standby_names') AS s, current_setting('synchronous_commit') AS c")).toEqual([
            { s: 'FIRST 1 ("prod-hot")', c: "on" },
        ]);
    });

    test("primary killed with kill -9 under load, `primary: prod-hot` and up: failover, no acknowledged commit lost", async () => {
        await queryUrl(business, "CREATE TABLE acks (id bigint PRIMARY KEY)");
        const writers = startWriters({ connectionString: business }, "acks", 4);
        await waitForCommits(writers, 300);
        // Only the postmaster, by the PID in its own pid file.
        const pidFile = path.join(workspace.dir, "data", "prod", "prod-db", "pgdata", "postmaster.pid");
        const postmaster = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
        process.kill(postmaster, "SIGKILL");
        const acked = await writers.stop();
        expect(acked.length).toBeGreaterThanOrEqual(300);

        await prod.setConfig("stagewise:primary", { value: "prod-hot" });
        const preview = await prod.preview({ color: "never", diff: true });
        expect(preview.stdout).toMatch(/dynamic\/stagewise:PrimaryRole: \(update\)[^]*~ declared +: "prod-db" => "prod-hot"/);
        const result = await prod.up({ color: "never" });
        // The server provider ran first and kept the killed primary down (never writable); the role change rejoined it.
        expect(result.stdout).toContain("server prod-db: was a primary and is declared a standby: it stays stopped (fenced) until the declared primary accepts writes");
        expect(result.stdout).toMatch(/primary: prod-hot promoted: it accepts writes/);
        expect(result.stdout).toMatch(/primary: rejoining prod-db as a standby of prod-hot \(pg_rewind\)/);

        const out = await stageOutputs(prod);
        expect(out.primary).toMatchObject({
            name: "prod-hot",
            endpoint: `127.0.0.1:${standbyPort}`,
            lastChange: { kind: "failover", from: "prod-db", to: "prod-hot", checkpointLsn: null, rejoined: ["prod-db"], needsRebuild: [] },
        });
        const onNewPrimary = onPort(business, standbyPort);
        expect(await inRecovery(onNewPrimary)).toBe(false);
        const missing = await queryUrl<{ missing: number }>(onNewPrimary, missingCountSql("acks").replace("$1", `'{${acked.join(",")}}'`));
        expect(missing).toEqual([{ missing: 0 }]);

        // Clients follow through the failover string: the declared primary first, and it accepts writes.
        const failover = (out.failoverConnectionStrings as Record<string, string>).business;
        expect(failover).toMatch(new RegExp(`@127\\.0\\.0\\.1:${standbyPort},127\\.0\\.0\\.1:${primaryPort}/business\\?target_session_attrs=read-write$`));
        expect(psql(failover, "INSERT INTO acks (id) VALUES (-1) RETURNING current_setting('port')")).toBe(`${standbyPort}\nINSERT 0 1`);
        expect(out.databases.business).toEqual({ server: "prod-db", name: "business", host: "127.0.0.1", port: standbyPort });

        // Settled by that one up: the old primary runs (as a standby), and a preview finds nothing to do.
        expect(out.servers["prod-db"].running).toBe(true);
        const settled = await prod.preview({ color: "never", expectNoChanges: true });
        expect(settled.changeSummary.update).toBeUndefined();
    });

    test("the old primary came back only as a standby of the new one, and a later up keeps it so", async () => {
        const onOld = onPort(business, primaryPort);
        expect(await inRecovery(onOld)).toBe(true);
        await expect(queryUrl(onOld, "INSERT INTO acks (id) VALUES (-2)")).rejects.toThrow("cannot execute INSERT in a read-only transaction");
        expect(await queryUrl(await superuserOn(prod, standbyPort), "SELECT application_name, state FROM pg_stat_replication")).toEqual([
            { application_name: "prod-db", state: "streaming" },
        ]);

        // Stopped behind Pulumi's back: `up` starts it again, read-only.
        stopByHand(path.join(workspace.dir, "data", "prod", "prod-db"));
        await prod.up({ color: "never" });
        expect(await inRecovery(onOld)).toBe(true);
        let rows: unknown[] = [];
        for (let i = 0; i < 100 && rows.length === 0; i++) {
            rows = await queryUrl(onOld, "SELECT id FROM acks WHERE id = -1");
            await new Promise((r) => setTimeout(r, 100));
        }
        expect(rows).toEqual([{ id: "-1" }]);
        const out = await stageOutputs(prod);
        expect(out.standbys?.["prod-hot"]).toMatchObject({ role: "primary", running: true, streaming: false, syncState: null });
        expect((await prod.preview({ color: "never" })).changeSummary.update).toBeUndefined();
    });

    test("a former primary whose folder is gone is rebuilt from the declared primary, never initialized writable", async () => {
        // The group's passwords, configured (they were generated): a rebuilt member must share them.
        const out = await stageOutputs(prod);
        const superuserPassword = (out.copySource as { superuserPassword: string }).superuserPassword;
        const applicationPassword = decodeURIComponent(/^postgresql:\/\/[^:]+:([^@]+)@/.exec(business)![1]);
        await prod.setConfig("stagewise:superuserPassword", { value: superuserPassword, secret: true });
        await prod.setConfig("stagewise:applicationPassword", { value: applicationPassword, secret: true });
        const serverDir = path.join(workspace.dir, "data", "prod", "prod-db");
        stopByHand(serverDir);
        fs.rmSync(serverDir, { recursive: true, force: true });

        const result = await prod.up({ color: "never", refresh: true });
        expect(result.stdout).toContain("server prod-db: rebuilding as a standby of 127.0.0.1:");
        const onOld = onPort(business, primaryPort);
        expect(await inRecovery(onOld)).toBe(true);
        expect(await queryUrl(onOld, "SELECT count(*)::int AS n FROM acks WHERE id = -1")).toEqual([{ n: 1 }]);
        expect(await queryUrl(await superuserOn(prod, standbyPort), "SELECT application_name, state FROM pg_stat_replication")).toEqual([
            { application_name: "prod-db", state: "streaming" },
        ]);
    });

    test("down while the hot standby acts as the primary removes every member and leaves nothing in the stack", async () => {
        const printed = await down(prod);
        expect(printed).not.toMatch(/failed/);
        expect(await resourcesLeft(prod)).toEqual([]);
        expect(fs.readdirSync(path.join(workspace.dir, "data")).filter((d) => d === "prod")).toEqual([]);
        expect(workspace.strayProcesses().filter((p) => p.includes(path.join(workspace.dir, "data", "prod")))).toEqual([]);
    });
});

/** `npm run down` of `stack` in the test's workspace: its protection lifted, everything destroyed; what the engine printed. */
async function down(stack: Stack): Promise<string> {
    const log: string[] = [];
    await downStages([stack.name], { workDir: workspace.projectDir, envVars: workspace.envVars, onOutput: (t) => void log.push(t) });
    return log.join("");
}

/** Resources the stack still has (none after a clean destroy). */
async function resourcesLeft(stack: Stack): Promise<string[]> {
    return ((await stack.exportStack()).deployment?.resources ?? []).map((r: { urn: string }) => r.urn);
}

describe("planned switchover with writes running", () => {
    let sw: Stack;
    let serverPort: number;
    let standbyPort: number;
    let business: string;

    test("switchover to the standby loses no acknowledged commit; the old primary streams from the new one", async () => {
        let out: StageOutputs;
        ({ stack: sw, standbyPort, out } = await upWithHotStandby("sw"));
        serverPort = out.servers["sw-db"].port;
        business = (out.connectionStrings as Record<string, string>).business;
        expect(out.standbys?.["sw-hot"]).toMatchObject({ synchronous: false, syncState: "async", role: "standby" });
        await queryUrl(business, "CREATE TABLE acks (id bigint PRIMARY KEY)");

        await sw.setConfig("stagewise:primary", { value: "sw-hot" });
        const preview = await sw.preview({ color: "never", diff: true });
        expect(preview.stdout).toMatch(/dynamic\/stagewise:PrimaryRole: \(update\)[^]*~ declared +: "sw-db" => "sw-hot"/);
        expect(preview.changeSummary.update).toBe(3); // the role, the server (now declared a standby), the standby (now declared primary)

        const writers = startWriters({ connectionString: business }, "acks", 4);
        await waitForCommits(writers, 300);
        const result = await sw.up({ color: "never" });
        const acked = await writers.stop(); // the writers ended when sw-db shut down
        expect(result.stdout).toMatch(/primary: switchover: sw-db stopped \(shut down\) at shutdown checkpoint [0-9A-F]+\/[0-9A-F]+; waiting for sw-hot to replay past it/);

        out = await stageOutputs(sw);
        expect(out.primary).toMatchObject({ name: "sw-hot", lastChange: { kind: "switchover", from: "sw-db", to: "sw-hot", rejoined: ["sw-db"], needsRebuild: [] } });
        expect(out.primary?.lastChange?.checkpointLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
        const onNew = onPort(business, standbyPort);
        expect(await queryUrl(onNew, missingCountSql("acks").replace("$1", `'{${acked.join(",")}}'`))).toEqual([{ missing: 0 }]);
        expect(await inRecovery(onNew)).toBe(false);
        expect(await inRecovery(onPort(business, serverPort))).toBe(true);
        expect(await queryUrl(await superuserOn(sw, standbyPort), "SELECT application_name, state FROM pg_stat_replication")).toEqual([{ application_name: "sw-db", state: "streaming" }]);
        expect(await queryUrl(onNew, "SELECT slot_name, active FROM pg_replication_slots")).toEqual([{ slot_name: "stagewise_sw_db", active: true }]);
        expect(out.servers["sw-db"].running).toBe(true);
        expect((await sw.preview({ color: "never", expectNoChanges: true })).changeSummary.update).toBeUndefined();
    });

    test("switching back: the server is the primary again, the standby streams from it, nothing lost", async () => {
        const onNew = onPort(business, standbyPort);
        const writers = startWriters({ connectionString: onNew }, "acks", 2, 1_000_000);
        await waitForCommits(writers, 100);
        await sw.removeConfig("stagewise:primary");
        await sw.up({ color: "never" });
        const acked = await writers.stop();
        const out = await stageOutputs(sw);
        expect(out.primary).toMatchObject({ name: "sw-db", lastChange: { kind: "switchover", from: "sw-hot", to: "sw-db", rejoined: ["sw-hot"] } });
        const onServer = onPort(business, serverPort);
        expect(await inRecovery(onServer)).toBe(false);
        expect(await queryUrl(onServer, missingCountSql("acks").replace("$1", `'{${acked.join(",")}}'`))).toEqual([{ missing: 0 }]);
        expect(await queryUrl(await superuserOn(sw, serverPort), "SELECT application_name, state FROM pg_stat_replication")).toEqual([{ application_name: "sw-hot", state: "streaming" }]);
        expect(out.standbys?.["sw-hot"]).toMatchObject({ role: "standby", running: true, streaming: true, syncState: "async" });
        await queryUrl(onServer, "INSERT INTO acks (id) VALUES (-1)");
    });
});

describe("down after a planned switchover", () => {
    test("with the standby as the primary, down removes every member and leaves nothing in the stack", async () => {
        const port = await freePort();
        const stack = await stageStack(workspace, "sw2", "production", { standbys: { "sw2-hot": { tier: "hot", port } } });
        await stack.up({ color: "never" });
        await stack.setConfig("stagewise:primary", { value: "sw2-hot" });
        await stack.up({ color: "never" });
        expect((await stageOutputs(stack)).primary).toMatchObject({ name: "sw2-hot", lastChange: { kind: "switchover" } });

        // The stack file reverted (no standby, no primary): refused at preview, naming who acts and what to declare.
        const standbys = (await stack.getConfig("stagewise:standbys")).value;
        await stack.removeConfig("stagewise:primary");
        await stack.removeConfig("stagewise:standbys");
        const refusal = await stack.preview({ color: "never" }).then(() => "preview succeeded", (err: Error) => err.message);
        expect(refusal).toContain(
            "primary (the server, by default): sw2-db is a standby now: sw2-hot acts as the primary since the last failover or switchover, " +
                "and standbys.sw2-hot is no longer declared (removing it would remove the only writable server). " +
                "Declare standbys.sw2-hot (tier: hot) with primary: sw2-hot to keep it the primary; " +
                "to make sw2-db the primary again, keep standbys.sw2-hot declared and set primary: sw2-db (a planned switchover), then remove it",
        );
        expect(refusal).not.toMatch(/read-only transaction/);
        await stack.setConfig("stagewise:standbys", { value: standbys });
        await stack.setConfig("stagewise:primary", { value: "sw2-hot" });
        expect((await stack.preview({ color: "never", expectNoChanges: true })).changeSummary.update).toBeUndefined();

        const printed = await down(stack);
        expect(printed).not.toMatch(/failed/);
        expect(await resourcesLeft(stack)).toEqual([]);
        expect(fs.existsSync(path.join(workspace.dir, "data", "sw2"))).toBe(false);
        expect(workspace.strayProcesses().filter((p) => p.includes(path.join(workspace.dir, "data", "sw2")))).toEqual([]);
    });
});
