// Production with `shipping` and a warm standby through the real engine: the primary archives, the
// shipper ships, the warm standby applies; a dead shipper is drift that `up` repairs; a failing
// archive command shows as a warning on preview, in `refresh`, and in the outputs — and clears.
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { archiverStatus, shipperStatus, stopShipper } from "../../components/shipping/shipper";
import { freePort, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";
import { eventually as pollUntil } from "../harness/wait";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
let prod: Stack;
let warmPort: number;
let dataRoot: string;
const stateDir = () => path.join(dataRoot, "shipping", "prod-warm", "state");

/** Polled every 250 ms, for 90 s unless told. */
const eventually = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> => pollUntil(what, probe, timeoutMs, 250);

/** Production's primary as its superuser (from the copySource output). */
async function superuserUrl(): Promise<string> {
    const out = await stageOutputs(prod);
    const source = out.copySource as { host: string; port: number; superuserPassword: string };
    return `postgresql://postgres:${encodeURIComponent(source.superuserPassword)}@${source.host}:${source.port}/postgres`;
}

async function writeAndSwitch(note: string): Promise<string> {
    const out = await stageOutputs(prod);
    await queryUrl((out.connectionStrings as Record<string, string>).business, `INSERT INTO "Business"."Document" ("Reference") VALUES ('${note}')`);
    const [{ name }] = await queryUrl<{ name: string }>(await superuserUrl(), "SELECT pg_walfile_name(pg_current_wal_lsn()) AS name, pg_switch_wal()");
    return name;
}

beforeAll(async () => {
    workspace = throwawayWorkspace();
    warmPort = await freePort();
    dataRoot = path.join(workspace.dir, "data", "prod");
    prod = await stageStack(workspace, "prod", "production", {
        rpo: "1m",
        shipping: { logBackupInterval: "5s", shipInterval: "1s", applyDelay: "0s" },
        standbys: { "prod-warm": { tier: "warm", port: warmPort } },
    });
});

afterAll(async () => {
    await stopShipper(stateDir()).catch(() => undefined);
    workspace?.dispose();
});

test("a production with shipping and a warm standby: exact log-shipping figures, the standby in recovery", async () => {
    const result = await prod.up({ color: "never" });
    expect(result.stdout).toMatch(/standby prod-warm: .*kB/);
    const out = await stageOutputs(prod);
    expect(out.logShipping).toEqual({
        archive: path.join(dataRoot, "wal-archive"),
        worstCaseLoss: "6s",
        worstCaseLossSeconds: 6,
        arithmetic: "worst-case data loss = log backup interval + shipping interval = 5s + 1s = 6s <= 1m (rpo)",
        newestShippedLogAgeSeconds: out.logShipping?.newestShippedLogAgeSeconds === null ? null : expect.any(Number),
        archiveFailing: false,
        lastArchiveError: null,
    });
    // Readable by other pipelines without --show-secrets.
    const raw = await prod.outputs();
    expect([raw.logShipping.secret, raw.standbys.secret]).toEqual([false, false]);
    const warm = out.standbys?.["prod-warm"];
    expect(warm).toMatchObject({
        tier: "warm",
        endpoint: `127.0.0.1:${warmPort}`,
        running: true,
        inRecovery: true,
        applyDelay: "0s",
        incoming: path.join(dataRoot, "shipping", "prod-warm", "incoming"),
    });
    expect(Object.keys(warm!).sort()).toEqual(["applyDelay", "endpoint", "inRecovery", "incoming", "lagSeconds", "lastReplayedAt", "running", "tier"]);
    expect(await queryUrl(await superuserUrl(), "SELECT current_setting('archive_mode') AS mode, current_setting('archive_timeout') AS timeout")).toEqual([
        { mode: "on", timeout: "5s" },
    ]);
    expect(shipperStatus(stateDir())).toMatchObject({ running: true, lastError: null });
});

test("a commit on production reaches the warm standby through the archive and the shipper", async () => {
    await writeAndSwitch("SHIPPED-1");
    const out = await stageOutputs(prod);
    const onWarm = (out.connectionStrings as Record<string, string>).business.replace(/:\d+\/business$/, `:${warmPort}/business`);
    const rows = await eventually("the commit on the warm standby", async () => {
        const found = await queryUrl(onWarm, `SELECT "Reference" FROM "Business"."Document" WHERE "Reference" = 'SHIPPED-1'`);
        return found.length > 0 ? found : undefined;
    });
    expect(rows).toEqual([{ Reference: "SHIPPED-1" }]);
    await prod.up({ color: "never" });
    const after = await stageOutputs(prod);
    expect(after.logShipping?.newestShippedLogAgeSeconds).toEqual(expect.any(Number));
    expect(after.standbys?.["prod-warm"]).toMatchObject({ tier: "warm", running: true, inRecovery: true, lastReplayedAt: expect.any(String) });
});

test("a shipper killed behind Pulumi's back shows in preview, and up starts it again", async () => {
    expect((await prod.preview({ color: "never" })).changeSummary.update).toBeUndefined();
    const { pid } = shipperStatus(stateDir());
    process.kill(-pid!, "SIGKILL");
    await eventually("the shipper gone", async () => (shipperStatus(stateDir()).running ? undefined : true));

    expect((await prod.preview({ color: "never" })).changeSummary.update).toBe(1);
    await prod.up({ color: "never" });
    expect(shipperStatus(stateDir())).toMatchObject({ running: true });
    expect(shipperStatus(stateDir()).pid).not.toBe(pid);
});

test("a failing archive command warns on preview and up, shows in refresh and in the outputs; repaired, it clears", async () => {
    const archive = path.join(dataRoot, "wal-archive");
    fs.chmodSync(archive, 0o500); // the servers' OS user can no longer write into production's archive
    const stuck = await writeAndSwitch("STUCK");
    await eventually("the archiver failing", async () => ((await archiverStatus(await superuserUrl())).failing ? true : undefined));

    const warning = new RegExp(`warning: production's WAL archiving is failing: archiving WAL file ${stuck} is failing \\(last failure [^;]+; last success [^)]+\\): nothing newer reaches the archive or the standbys`);
    expect((await prod.preview({ color: "never" })).stdout).toMatch(warning);

    await prod.refresh({ color: "never" });
    const job = (await prod.exportStack()).deployment.resources.find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/stagewise:LogShippingJob");
    expect(job.outputs).toMatchObject({ archiveFailing: true, lastArchiveError: expect.stringContaining(`archiving WAL file ${stuck} is failing`) });

    const up = await prod.up({ color: "never" });
    expect(up.stdout).toMatch(warning);
    const failing = await stageOutputs(prod);
    expect(failing.logShipping).toMatchObject({ archiveFailing: true, lastArchiveError: expect.stringContaining(`archiving WAL file ${stuck} is failing`) });

    fs.chmodSync(archive, 0o700);
    await writeAndSwitch("UNSTUCK"); // wakes the archiver, which retries the stuck file first
    await eventually("the archiver repaired", async () => ((await archiverStatus(await superuserUrl())).failing ? undefined : true));
    const repaired = await prod.up({ color: "never" });
    expect(repaired.stdout).not.toMatch(/WAL archiving is failing/);
    expect((await stageOutputs(prod)).logShipping).toMatchObject({ archiveFailing: false, lastArchiveError: null });
    expect(fs.existsSync(path.join(archive, stuck))).toBe(true);
});

test("removing the warm standby stops its shipper and removes its folders, leaving production's archive", async () => {
    await prod.removeConfig("stagewise:standbys");
    await prod.up({ color: "never" });
    const out = await stageOutputs(prod);
    expect(out.standbys).toBeUndefined();
    expect(out.logShipping).toMatchObject({ archiveFailing: false, newestShippedLogAgeSeconds: null });
    expect(fs.existsSync(path.join(dataRoot, "shipping", "prod-warm"))).toBe(false);
    expect(fs.existsSync(path.join(dataRoot, "prod-warm"))).toBe(false);
    expect(fs.readdirSync(path.join(dataRoot, "wal-archive")).length).toBeGreaterThan(0);
    expect(workspace.strayProcesses().filter((p) => p.includes("stagewise-shipper"))).toEqual([]);
});

test("a schedule that cannot meet the RPO is refused with the arithmetic before anything changes", async () => {
    await prod.setConfig("stagewise:shipping", { value: JSON.stringify({ logBackupInterval: "50s", shipInterval: "20s" }) });
    const error = await prod.preview({ color: "never" }).then(
        () => undefined,
        (err: Error) => err,
    );
    expect(error?.message).toContain(
        "shipping: rpo 1m cannot be met: worst-case data loss = log backup interval + shipping interval = 50s + 20s = 1m10s > 1m (shorten an interval, or accept more data loss)",
    );
    expect(await queryUrl(await superuserUrl(), "SELECT current_setting('archive_timeout') AS timeout")).toEqual([{ timeout: "5s" }]);
});
