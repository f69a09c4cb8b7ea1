// Benchmark: `pulumi up` of a production stage (one server, the three engine databases and the
// reference schema) against the raw PostgreSQL commands doing the same work, in the same run.
// Target: at most 1.5x the raw commands. Prints a table and the ratio; asserts nothing.
//
//   npm run bench
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DATABASE_ROLES, referenceSchemaSql } from "../components/engine/referenceSchema";
import { findPostgresBinDir, serverOsUser } from "../components/platform/local";
import { freePort, throwawayWorkspace } from "../test/harness/engine";
import { tempDir } from "../test/harness/postgres";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BIN = findPostgresBinDir(undefined);
const USER = serverOsUser(undefined);
const PASSWORD = "bench-password";

function run(program: string, args: string[], opts: { cwd: string; input?: string; env?: Record<string, string> }): void {
    const file = path.join(BIN, program);
    const [cmd, argv] = USER ? ["runuser", ["-u", USER, "--", "env", ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`), file, ...args]] : [file, args];
    const result = childProcess.spawnSync(cmd, argv, { cwd: opts.cwd, input: opts.input, encoding: "utf8", env: { ...process.env, ...opts.env } });
    if (result.status !== 0) {
        throw new Error(`${program} failed: ${result.stderr}`);
    }
}

/** What an operator types: initdb, settings, pg_ctl start, create role and databases, load the schema. */
function rawCommands(root: string, port: number): number {
    const dir = path.join(root, "raw");
    fs.mkdirSync(dir, { mode: 0o700 });
    if (USER) {
        childProcess.execFileSync("chown", [USER, dir]);
    }
    const started = process.hrtime.bigint();
    fs.writeFileSync(path.join(dir, "pw"), PASSWORD + "\n", { mode: 0o600 });
    if (USER) {
        childProcess.execFileSync("chown", [USER, path.join(dir, "pw")]);
    }
    const pgdata = path.join(dir, "pgdata");
    run("initdb", ["-D", pgdata, "-U", "postgres", "--pwfile", path.join(dir, "pw"), "--auth-local", "scram-sha-256", "--auth-host", "scram-sha-256", "--data-checksums", "-E", "UTF8", "--no-locale", "--no-instructions"], { cwd: dir });
    fs.appendFileSync(path.join(pgdata, "postgresql.conf"), `listen_addresses = '127.0.0.1'\nport = ${port}\nunix_socket_directories = '${dir}'\n`);
    run("pg_ctl", ["start", "-D", pgdata, "-l", path.join(dir, "server.log"), "-w", "-s"], { cwd: dir });
    const env = { PGPASSWORD: PASSWORD, PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "postgres" };
    run("psql", ["-q", "-v", "ON_ERROR_STOP=1", "-d", "postgres", "-c", "CREATE ROLE engine LOGIN PASSWORD 'bench-app'"], { cwd: dir, env });
    const tables = { server: { schema: "Server", table: "Server" }, licenseKey: { schema: "HostServer", table: "LicenseKey" } };
    for (const role of DATABASE_ROLES) {
        run("createdb", ["-O", "engine", role], { cwd: dir, env });
        run("psql", ["-q", "-v", "ON_ERROR_STOP=1", "-d", role, "-c", "SET ROLE engine", "-f", "-"], { cwd: dir, env, input: referenceSchemaSql(role, tables) });
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    run("pg_ctl", ["stop", "-D", pgdata, "-m", "fast", "-w", "-s"], { cwd: dir });
    return ms;
}

async function pulumiUp(port: number): Promise<number> {
    const workspace = throwawayWorkspace();
    try {
        const stack = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port } }),
            "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: path.join(workspace.dir, "data") }),
        });
        const started = process.hrtime.bigint();
        await stack.up({ color: "never" });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        childProcess.execFileSync("pulumi", ["state", "unprotect", "--all", "--yes", "--stack", "prod"], {
            cwd: workspace.projectDir,
            env: { ...process.env, ...workspace.envVars },
            stdio: "ignore",
        });
        await stack.destroy({ color: "never" });
        return ms;
    } finally {
        workspace.dispose();
    }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
    const raw: number[] = [];
    const up: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
        const root = tempDir("stagewise-bench-");
        try {
            raw.push(rawCommands(root, await freePort()));
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
        up.push(await pulumiUp(await freePort()));
        console.error(`round ${round}/${ROUNDS}: raw ${raw.at(-1)!.toFixed(0)} ms, pulumi up ${up.at(-1)!.toFixed(0)} ms`);
    }
    const ratio = median(up) / median(raw);
    console.log(`\nstage up benchmark (${ROUNDS} rounds, medians), ${new Date().toISOString().slice(0, 10)}`);
    console.log("| work | raw PostgreSQL commands | pulumi up (stagewise) | ratio | target |");
    console.log("|---|---|---|---|---|");
    console.log(`| production stage: 1 server, 3 databases, reference schema | ${(median(raw) / 1000).toFixed(2)} s | ${(median(up) / 1000).toFixed(2)} s | ${ratio.toFixed(2)}x | <= 1.5x |`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
