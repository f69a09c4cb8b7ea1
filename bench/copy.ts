// Benchmark: copying production's engine databases onto a staging server. Three ways, same data,
// same run: raw pg_basebackup (the floor), stagewise's copy (pg_basebackup plus verification, swap
// and identity restore), and raw pg_dump | pg_restore of each database (the logical alternative).
// Prints a table with ratios against raw pg_basebackup; asserts nothing.
//
//   npm run bench -- copy        (BENCH_MB sets the size of the business data, default 200)
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { bootstrap, chownToServerUser, ClusterLocation } from "../components/postgres/cluster";
import { copyDatabases } from "../components/copy/stagingCopy";
import { DATABASE_ROLES } from "../components/engine/referenceSchema";
import { engineBootstrap, removeCluster, startedCluster, tempDir } from "../test/harness/postgres";
import { benchCopyRequest, seedBusinessDocuments } from "./seed";

const MB = Number(process.env.BENCH_MB ?? 200);
const PASSWORD = "bench-super";

async function server(root: string, name: string): Promise<ClusterLocation> {
    const loc = await startedCluster(root, PASSWORD, {}, name);
    await bootstrap(loc, PASSWORD, engineBootstrap("bench-engine"));
    return loc;
}

function timed(work: () => void): number {
    const started = process.hrtime.bigint();
    work();
    return Number(process.hrtime.bigint() - started) / 1e6;
}

/** Runs a PostgreSQL program as the servers' OS user with the password in PGPASSWORD (a benchmark only). */
function pg(loc: ClusterLocation, program: string, args: string[], shell?: string): void {
    const env = { ...process.env, PGPASSWORD: PASSWORD };
    const bin = path.join(loc.binDir, program);
    const cmd = shell ?? [bin, ...args].join(" ");
    const full = loc.osUser ? ["runuser", "-u", loc.osUser, "--", "env", `PGPASSWORD=${PASSWORD}`, "sh", "-c", cmd] : ["sh", "-c", cmd];
    const result = childProcess.spawnSync(full[0], full.slice(1), { env, encoding: "utf8", cwd: loc.serverDir });
    if (result.status !== 0) {
        throw new Error(`${program} failed: ${result.stderr}`);
    }
}

async function main(): Promise<void> {
    const root = tempDir("stagewise-bench-copy-");
    const made: ClusterLocation[] = [];
    try {
        const prod = await server(root, "prod");
        made.push(prod);
        const target = await server(root, "staging");
        made.push(target);
        await seedBusinessDocuments(prod, PASSWORD, MB);
        const size = childProcess.execFileSync("du", ["-sm", path.join(prod.serverDir, "pgdata")], { encoding: "utf8" }).split("\t")[0];
        const backupDir = path.join(root, "raw-basebackup");
        fs.mkdirSync(backupDir, { mode: 0o700 });
        chownToServerUser(prod, backupDir);
        const rawBasebackup = timed(() =>
            pg(prod, "pg_basebackup", ["-h", prod.host, "-p", String(prod.port), "-U", "postgres", "-D", backupDir, "-X", "stream", "-c", "fast", "-w"]),
        );
        fs.rmSync(backupDir, { recursive: true, force: true });

        const dumpRestore = timed(() => {
            for (const db of DATABASE_ROLES) {
                const conn = (loc: ClusterLocation) => `-h ${loc.host} -p ${loc.port} -U postgres -w`;
                pg(prod, "pg_dump", [], `${path.join(prod.binDir, "pg_dump")} ${conn(prod)} -Fc ${db} | ${path.join(prod.binDir, "pg_restore")} ${conn(target)} --clean --if-exists -d ${db}`);
            }
        });

        let stagewise = 0;
        {
            const started = process.hrtime.bigint();
            await copyDatabases(benchCopyRequest(prod, target, PASSWORD));
            stagewise = Number(process.hrtime.bigint() - started) / 1e6;
        }
        const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
        console.log(`\ncopy benchmark, ${new Date().toISOString().slice(0, 10)}, production data directory ${size} MB`);
        console.log("| method | time | vs raw pg_basebackup |");
        console.log("|---|---|---|");
        console.log(`| raw pg_basebackup (whole cluster, no checks) | ${s(rawBasebackup)} | 1.00x |`);
        console.log(`| stagewise copy (pg_basebackup + verify + swap + identity) | ${s(stagewise)} | ${(stagewise / rawBasebackup).toFixed(2)}x |`);
        console.log(`| raw pg_dump \\| pg_restore, per database (not one instant) | ${s(dumpRestore)} | ${(dumpRestore / rawBasebackup).toFixed(2)}x |`);
    } finally {
        for (const loc of made) {
            removeCluster(loc);
        }
        fs.rmSync(root, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
