// Benchmark: a warm standby's measured worst-case loss against its configured bound. A writer
// commits a timestamped row every 100 ms; at a random moment the primary is killed (kill -9); the
// shipper ships what had been archived, the standby applies it, and the newest row it has is
// compared with the newest row the primary acknowledged. The disaster takes the production site
// whole (primary, archive and shipper stop at once), so the standby has only what was shipped.
// The bound is the plan's worst case (log backup interval + shipping interval). The floor, in the
// same run: a second standby restoring straight from the primary's archive with PostgreSQL's own
// restore_command (no shipper; as if the archive survived), whose loss is what archiving alone
// costs. Raw figures are printed; nothing is asserted.
//
//   npm run bench -- warm            (BENCH_ROUNDS=3, BENCH_WARM_SECONDS=20, BENCH_WARM_LOG_BACKUP=5s, BENCH_WARM_SHIP=2s)
import * as fs from "fs";
import type { ClientConfig } from "pg";
import * as path from "path";
import { bootstrap, ClusterLocation, dataDirOf, initCluster, startCluster, writeSettings } from "../components/postgres/cluster";
import { withClient } from "../components/postgres/pg";
import { ensureFolder, startShipper, stopShipper } from "../components/shipping/shipper";
import { createWarmStandby, removeWarmStandby, WarmStandbySpec } from "../components/standby/warm/warmReplay";
import { planLogShipping, shippingSettings } from "../components/shipping/schedule";
import { freePort } from "../test/harness/engine";
import { clusterLocation, removeCluster, tempDir } from "../test/harness/postgres";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 20);
const LOG_BACKUP = process.env.BENCH_WARM_LOG_BACKUP ?? "5s";
const SHIP = process.env.BENCH_WARM_SHIP ?? "2s";
const PASSWORD = "bench-password";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Round {
    rowsAcknowledged: number;
    rowsOnStandby: number;
    lossMs: number;
    /** The same for the standby reading the archive directly (the raw-tool floor). */
    rowsOnFloor: number;
    floorLossMs: number;
    boundMs: number;
}

async function round(): Promise<Round> {
    const result = planLogShipping({ rpo: "1h", logBackupInterval: LOG_BACKUP, shipInterval: SHIP, applyDelay: "0s" });
    if (!result.ok) {
        throw new Error(result.problems.join("\n"));
    }
    const plan = result.plan;
    const root = tempDir("stagewise-bench-warm-");
    const primary: ClusterLocation = await clusterLocation(root, "primary");
    const folders = { archive: path.join(root, "wal-archive"), incoming: path.join(root, "incoming"), applied: path.join(root, "applied") };
    Object.values(folders).forEach((dir) => ensureFolder(dir, primary.osUser));
    const stateDir = path.join(root, "shipper");
    const settings = shippingSettings(plan, folders, primary.binDir);
    const spec: WarmStandbySpec = {
        loc: { ...primary, serverDir: path.join(root, "warm"), port: await freePort() },
        primary: { host: primary.host, port: primary.port, superuserPassword: PASSWORD },
        settings: settings.standby,
    };
    // Raw PostgreSQL: restore_command straight from the archive, nothing moved out of it.
    const { archive_cleanup_command: _cleanup, ...floorSettings } = shippingSettings(plan, { ...folders, incoming: folders.archive }, primary.binDir).standby;
    const floor: WarmStandbySpec = { ...spec, loc: { ...spec.loc, serverDir: path.join(root, "floor"), port: await freePort() }, settings: floorSettings };
    const conn = (loc: ClusterLocation) => ({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database: "work" });
    try {
        initCluster(primary, PASSWORD);
        writeSettings(primary, settings.primary);
        startCluster(primary);
        await bootstrap(primary, PASSWORD, { ownerRole: "engine", ownerPassword: "app", databases: [{ name: "work", schemaSql: "CREATE TABLE IF NOT EXISTS tick (at timestamptz NOT NULL)" }] });
        startShipper({ from: folders.archive, to: folders.incoming, intervalMs: plan.shipIntervalMs, osUser: primary.osUser, stateDir });
        await createWarmStandby(spec);
        await createWarmStandby(floor);

        // Write a row every 100 ms; kill the primary at a random moment in the second half.
        const started = Date.now();
        const { acknowledged, newestAcknowledged } = await writeUntilKilled(primary, conn(primary), (SECONDS / 2 + Math.random() * (SECONDS / 2)) * 1000);
        await stopShipper(stateDir);

        const settled = (loc: ClusterLocation) => settledOn(conn(loc), plan.shipIntervalMs, newestAcknowledged, started);
        const onStandby = await settled(spec.loc);
        const onFloor = await settled(floor.loc);
        return {
            rowsAcknowledged: acknowledged,
            rowsOnStandby: onStandby.rows,
            lossMs: onStandby.lossMs,
            rowsOnFloor: onFloor.rows,
            floorLossMs: onFloor.lossMs,
            boundMs: plan.worstCaseLossMs,
        };
    } finally {
        await stopShipper(stateDir).catch(() => undefined);
        for (const standby of [spec, floor]) {
            try {
                removeWarmStandby(standby);
            } catch {
                // never created
            }
        }
        removeCluster(primary);
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/** Writes a row every 100 ms until `killAfterMs`, then kills the primary (no shutdown, no last archive). */
async function writeUntilKilled(primary: ClusterLocation, conn: ClientConfig, killAfterMs: number): Promise<{ acknowledged: number; newestAcknowledged: number }> {
    let acknowledged = 0;
    let newestAcknowledged = 0;
    const started = Date.now();
    const { Client } = await import("pg");
    const writer = new Client(conn);
    writer.on("error", () => undefined); // the kill ends the connection: expected here
    await writer.connect();
    while (Date.now() - started < killAfterMs) {
        const { rows } = await writer.query("INSERT INTO tick VALUES (clock_timestamp()) RETURNING extract(epoch FROM at)::float8 * 1000 AS ms");
        acknowledged++;
        newestAcknowledged = rows[0].ms;
        await sleep(100);
    }
    const pid = Number(fs.readFileSync(path.join(dataDirOf(primary), "postmaster.pid"), "utf8").split("\n")[0]);
    // The disaster takes the whole production site: the primary and, with it, the archive and the
    // shipper (stopped by the caller). The warm standby keeps only what was shipped before.
    process.kill(pid, "SIGKILL");
    await writer.end().catch(() => undefined);
    return { acknowledged, newestAcknowledged };
}

/** What a standby holds once it has applied all it can reach (its row count stops moving). */
async function settledOn(conn: ClientConfig, shipIntervalMs: number, newestAcknowledged: number, started: number): Promise<{ rows: number; lossMs: number }> {
    let last = -1;
    for (let stable = 0; ; ) {
        await sleep(Math.max(1_000, shipIntervalMs));
        const { rows } = await withClient(conn, (c) => c.query("SELECT count(*)::int AS n, coalesce(extract(epoch FROM max(at))::float8 * 1000, 0) AS ms FROM tick"));
        stable = rows[0].n === last ? stable + 1 : 0;
        last = rows[0].n;
        if (stable === 3) {
            const newest = rows[0].ms as number;
            return { rows: rows[0].n as number, lossMs: newestAcknowledged - (newest === 0 ? started : newest) };
        }
    }
}

async function main(): Promise<void> {
    console.log(`warm standby loss: log backup ${LOG_BACKUP}, shipping ${SHIP}, no apply delay; ${SECONDS} s of writes (one row every 100 ms), primary killed at a random moment in the second half`);
    console.log("round  rows acknowledged  rows on standby  measured loss (s)  raw floor rows  raw floor loss (s)  bound (s)  loss/bound  loss/floor");
    const rounds: Round[] = [];
    for (let i = 1; i <= ROUNDS; i++) {
        const r = await round();
        rounds.push(r);
        console.log(
            `${String(i).padStart(5)}  ${String(r.rowsAcknowledged).padStart(17)}  ${String(r.rowsOnStandby).padStart(15)}  ${(r.lossMs / 1000).toFixed(2).padStart(17)}  ` +
                `${String(r.rowsOnFloor).padStart(14)}  ${(r.floorLossMs / 1000).toFixed(2).padStart(18)}  ${(r.boundMs / 1000).toFixed(0).padStart(9)}  ` +
                `${(r.lossMs / r.boundMs).toFixed(2).padStart(10)}  ${(r.floorLossMs > 0 ? r.lossMs / r.floorLossMs : NaN).toFixed(2).padStart(10)}`,
        );
    }
    const worst = Math.max(...rounds.map((r) => r.lossMs));
    console.log(`worst measured loss ${(worst / 1000).toFixed(2)} s against the configured bound ${(rounds[0].boundMs / 1000).toFixed(0)} s (${(worst / rounds[0].boundMs).toFixed(2)}x)`);
    console.log("anchors: the runbook's example accepts 4 h of loss with hourly log backups and shipping (bound 2 h)");
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
