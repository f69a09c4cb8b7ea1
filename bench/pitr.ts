// Benchmark: point-in-time recovery time per GB of WAL. One archiving primary, one base backup, then
// BENCH_WAL_MB of WAL written (business documents) and archived; the same target instant is then
// recovered, alternately, by stagewise's restoreToInstant and by the raw tools by hand (cp -a of the
// base backup, recovery settings, recovery.signal, pg_ctl start, wait until promoted), in the same
// run. Prints seconds per GB of WAL for both and the ratio (medians); asserts nothing.
//
//   npm run bench -- pitr        (BENCH_WAL_MB sets the WAL written, default 256; BENCH_ROUNDS, default 3)
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { bootstrap, chownToServerUser, ClusterLocation, connect, initCluster, runProgram, startCluster, stopCluster, writeSettings } from "../components/postgres/cluster";
import { withClient } from "../components/postgres/pg";
import { backupDataDir, backupsLocation, listBaseBackups, takeBaseBackup } from "../components/backup/pitrBackups";
import { postgresTimestamp, restoreToInstant } from "../components/backup/restore";
import { archiveSettings, planLogShipping } from "../components/shipping/schedule";
import { freePort } from "../test/harness/engine";
import { clusterLocation, removeCluster, tempDir } from "../test/harness/postgres";

const WAL_MB = Number(process.env.BENCH_WAL_MB ?? 256);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PASSWORD = "bench-super";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function waitPromoted(loc: ClusterLocation): Promise<void> {
    for (;;) {
        const r = await withClient({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database: "postgres" }, async (c) => (await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r).catch(() => undefined);
        if (r === false) return;
        await new Promise((res) => setTimeout(res, 50));
    }
}

/** The raw tools by hand: what an operator types. */
async function rawRecovery(loc: ClusterLocation, backup: string, archive: string, target: string): Promise<void> {
    fs.mkdirSync(loc.serverDir, { mode: 0o700 });
    chownToServerUser(loc, loc.serverDir);
    const dataDir = path.join(loc.serverDir, "pgdata");
    childProcess.execFileSync("cp", ["-a", backup, dataDir]);
    const settings = [
        `port = ${loc.port}`,
        `unix_socket_directories = '${loc.serverDir}'`,
        "archive_mode = off",
        `restore_command = 'cp ${archive}/%f %p'`,
        `recovery_target_time = '${postgresTimestamp(target)}'`,
        "recovery_target_action = promote",
    ];
    fs.appendFileSync(path.join(dataDir, "postgresql.conf"), settings.join("\n") + "\n");
    fs.writeFileSync(path.join(dataDir, "recovery.signal"), "");
    chownToServerUser(loc, path.join(dataDir, "recovery.signal"));
    runProgram(loc, "pg_ctl", ["start", "-D", dataDir, "-l", path.join(loc.serverDir, "server.log"), "-w", "-t", "600", "-s"]);
    await waitPromoted(loc);
}

async function main(): Promise<void> {
    const root = tempDir("stagewise-bench-pitr-");
    const made: ClusterLocation[] = [];
    try {
        const archive = path.join(root, "wal-archive");
        const prod = await clusterLocation(root, "prod");
        made.push(prod);
        fs.mkdirSync(archive, { mode: 0o700 });
        chownToServerUser(prod, archive);
        const plan = planLogShipping({ rpo: "4h" });
        if (!plan.ok) throw new Error(plan.problems.join("; "));
        initCluster(prod, PASSWORD);
        writeSettings(prod, { ...archiveSettings(plan.plan, archive), max_wal_size: "2GB" });
        startCluster(prod);
        await bootstrap(prod, PASSWORD, { ownerRole: "engine", ownerPassword: "bench-engine", databases: [{ name: "business", schemaSql: "" }] });
        const backupsDir = path.join(root, "backups");
        await takeBaseBackup(backupsLocation(prod.binDir, backupsDir, prod.osUser), { host: prod.host, port: prod.port, superuserPassword: PASSWORD });
        const client = await connect(prod, PASSWORD, "business");
        let walBytes: number;
        let target: string;
        try {
            await client.query("CREATE TABLE document (id bigint, body text)");
            const start = (await client.query("SELECT pg_current_wal_lsn() AS l")).rows[0].l;
            // About 1 kB a row, in batches of 50 MB of rows; WAL is a little more than the rows.
            for (let written = 0; written < WAL_MB; written += 50) {
                await client.query("INSERT INTO document SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 50000) g");
            }
            const end = (await client.query("SELECT pg_current_wal_lsn() AS l")).rows[0].l;
            walBytes = Number((await client.query("SELECT pg_wal_lsn_diff($1, $2)::bigint AS b", [end, start])).rows[0].b);
            target = ((await client.query("SELECT clock_timestamp() AS t")).rows[0].t as Date).toISOString();
            await client.query("INSERT INTO document VALUES (-1, 'after the target')");
            const segment = (await client.query("SELECT pg_walfile_name(pg_switch_wal()) AS s")).rows[0].s;
            while (!fs.existsSync(path.join(archive, segment))) await new Promise((r) => setTimeout(r, 100));
        } finally {
            await client.end();
        }
        stopCluster(prod);
        const backup = backupDataDir(backupsDir, listBaseBackups(backupsDir)[0].id);

        const stagewise: number[] = [];
        const raw: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
            for (const which of round % 2 === 0 ? ["raw", "stagewise"] : ["stagewise", "raw"]) {
                const loc = { ...prod, serverDir: path.join(root, `${which}-${round}`), port: await freePort() };
                made.push(loc);
                const started = process.hrtime.bigint();
                if (which === "raw") {
                    await rawRecovery(loc, backup, archive, target);
                } else {
                    await restoreToInstant({ backupsDir, walFolders: [archive], target: { time: target }, loc, superuserPassword: PASSWORD });
                }
                const ms = Number(process.hrtime.bigint() - started) / 1e6;
                const rows = await withClient({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database: "business" }, async (c) => (await c.query("SELECT count(*)::int AS n, min(id)::int AS m FROM document")).rows[0]);
                if (rows.m === -1) throw new Error(`${which} recovered past the target`);
                (which === "raw" ? raw : stagewise).push(ms);
                removeCluster(loc);
            }
        }
        const gb = walBytes / 1024 ** 3;
        const perGb = (ms: number) => `${(ms / 1000 / gb).toFixed(1)} s/GB`;
        console.log(`\npoint-in-time recovery benchmark, ${new Date().toISOString().slice(0, 10)}, ${(walBytes / 1024 ** 2).toFixed(0)} MB of WAL replayed, ${ROUNDS} rounds, medians`);
        console.log("| method | time | per GB of WAL | vs raw |");
        console.log("|---|---|---|---|");
        console.log(`| raw: cp -a base backup + recovery.signal + pg_ctl start until promoted | ${(median(raw) / 1000).toFixed(2)} s | ${perGb(median(raw))} | 1.00x |`);
        console.log(`| stagewise restoreToInstant (chosen backup, settings, promote, recovered-to read back) | ${(median(stagewise) / 1000).toFixed(2)} s | ${perGb(median(stagewise))} | ${(median(stagewise) / median(raw)).toFixed(2)}x |`);
    } finally {
        for (const loc of made) removeCluster(loc);
        fs.rmSync(root, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
