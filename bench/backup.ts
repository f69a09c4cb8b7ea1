// Benchmark: a consistent backup and a restore of the engine's databases — stagewise's BackupPlan
// functions against the raw PostgreSQL tools doing the same work, same data, same run. Asserts nothing.
//
//   npm run bench -- backup      (BENCH_MB sets the size of the business data, default 200)
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { listBackupSets, restoreBackupSet, takeBackupSet, StageServerRef } from "../components/backup/backupSets";
import { bootstrap, chownToServerUser, ClusterLocation, dataDirOf, runProgram, startCluster, stopCluster } from "../components/postgres/cluster";
import { DATABASE_ROLES } from "../components/engine/referenceSchema";
import { clusterLocation, engineBootstrap, removeCluster, runCluster, tempDir } from "../test/harness/postgres";
import { seedBusinessDocuments } from "./seed";

const MB = Number(process.env.BENCH_MB ?? 200);
const PASSWORD = "bench-super";

async function timed(work: () => unknown): Promise<number> {
    const started = process.hrtime.bigint();
    await work();
    return Number(process.hrtime.bigint() - started) / 1e9;
}

/** pg_basebackup as the servers' OS user, with the password in the environment (a benchmark only). */
function rawBasebackup(loc: ClusterLocation, target: string): void {
    const args = ["-h", loc.host, "-p", String(loc.port), "-U", "postgres", "-D", target, "-X", "stream", "-c", "fast", "-w"];
    const bin = path.join(loc.binDir, "pg_basebackup");
    const full = loc.osUser ? ["runuser", "-u", loc.osUser, "--", "env", `PGPASSWORD=${PASSWORD}`, bin, ...args] : ["env", `PGPASSWORD=${PASSWORD}`, bin, ...args];
    const result = childProcess.spawnSync(full[0], full.slice(1), { encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(`pg_basebackup failed: ${result.stderr}`);
    }
}

async function main(): Promise<void> {
    const root = tempDir("stagewise-bench-backup-");
    const loc = await clusterLocation(root, "db");
    try {
        runCluster(loc, PASSWORD);
        await bootstrap(loc, PASSWORD, engineBootstrap("bench-engine"));
        await seedBusinessDocuments(loc, PASSWORD, MB);
        const megabytes = Number(childProcess.execFileSync("du", ["-sm", dataDirOf(loc)], { encoding: "utf8" }).split("\t")[0]);

        const rawDir = path.join(root, "raw");
        fs.mkdirSync(rawDir, { mode: 0o700 });
        chownToServerUser(loc, rawDir);
        const rawBackup = await timed(() => rawBasebackup(loc, path.join(rawDir, "pgdata")));
        const rawVerify = await timed(() => runProgram(loc, "pg_verifybackup", ["--quiet", path.join(rawDir, "pgdata")]));
        const rawRestore = await timed(() => {
            stopCluster(loc);
            fs.renameSync(dataDirOf(loc), dataDirOf(loc) + ".aside");
            childProcess.execFileSync("cp", ["-a", path.join(rawDir, "pgdata"), dataDirOf(loc)]);
            startCluster(loc);
        });
        fs.rmSync(dataDirOf(loc) + ".aside", { recursive: true, force: true });
        fs.rmSync(rawDir, { recursive: true, force: true });

        const server: StageServerRef = { name: "db", loc, superuserPassword: PASSWORD, databases: [...DATABASE_ROLES] };
        const request = { setsDir: path.join(root, "backups"), servers: [server], configFiles: [], units: [], ownerRole: "engine" };
        const stagewiseBackup = await timed(() => takeBackupSet({ ...request, mode: "online" }));
        const id = listBackupSets(request.setsDir)[0].id;
        const stagewiseRestore = await timed(() => restoreBackupSet({ ...request, id }));

        const row = (what: string, seconds: number, floor: number) => `| ${what} | ${seconds.toFixed(2)} s | ${Math.round(megabytes / seconds)} MB/s | ${(seconds / floor).toFixed(2)}x |`;
        console.log(`\nBackup and restore, ${new Date().toISOString().slice(0, 10)}: data directory ${megabytes} MB (${MB} MB of business documents)\n`);
        console.log("| work | time | throughput | vs raw |");
        console.log("|---|---|---|---|");
        console.log(row("raw pg_basebackup", rawBackup, rawBackup));
        console.log(row("raw pg_basebackup + pg_verifybackup", rawBackup + rawVerify, rawBackup));
        console.log(row("stagewise online backup (basebackup, verify, manifest)", stagewiseBackup, rawBackup));
        console.log(row("raw restore (stop, cp -a, start)", rawRestore, rawRestore));
        console.log(row("stagewise restore (safety backup, swap, start)", stagewiseRestore, rawRestore));
        console.log(row("stagewise restore minus its safety backup", stagewiseRestore - stagewiseBackup, rawRestore));
    } finally {
        removeCluster(loc);
        fs.rmSync(root, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
