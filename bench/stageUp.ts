// Benchmark: `pulumi up` of a production stage (one server, the three engine databases and the
// reference schema) against the raw PostgreSQL commands doing the same work, in the same run.
// Target: at most 1.5x the raw commands. Also times, as the floor every Pulumi program of this shape
// pays, `pulumi up` of a program with one dynamic resource that does nothing. Prints a table and the
// ratios; asserts nothing.
//
//   npm run bench -- stageUp
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { DATABASE_ROLES, referenceSchemaSql } from "../components/engine/referenceSchema";
import { findPostgresBinDir, serverOsUser } from "../components/platform/local";
import { freePort, REPO_ROOT, throwawayWorkspace } from "../test/harness/engine";
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

/** `pulumi up` as an operator or a pipeline runs it (no preview, no prompt), in milliseconds. */
function timedUp(projectDir: string, env: Record<string, string>): number {
    const started = process.hrtime.bigint();
    const result = childProcess.spawnSync("pulumi", ["up", "--yes", "--skip-preview", "--non-interactive", "--color", "never", "--stack", "prod"], {
        cwd: projectDir,
        env: { ...process.env, ...env },
        encoding: "utf8",
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (result.status !== 0) {
        throw new Error(`pulumi up failed:\n${result.stdout}\n${result.stderr}`);
    }
    return ms;
}

/** `coldCaches`: as the first `up` after a checkout or an edit (empty transpile and parse caches).
 *  `prepareAhead`: false turns off the initdb started while the engine starts (STAGEWISE_PREPARE_AHEAD=0). */
async function stageUp(port: number, { coldCaches = false, prepareAhead = true } = {}): Promise<number> {
    const workspace = throwawayWorkspace();
    try {
        const stack = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port } }),
            "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: path.join(workspace.dir, "data") }),
        });
        const caches: Record<string, string> = coldCaches ? { STAGEWISE_TRANSPILE_CACHE: path.join(workspace.dir, "empty-caches") } : {};
        const ms = timedUp(workspace.projectDir, { ...workspace.envVars, ...caches, ...(prepareAhead ? {} : { STAGEWISE_PREPARE_AHEAD: "0" }) });
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

/** The floor: a JavaScript program whose one dynamic resource does nothing, on the same engine and backend,
 *  started the way this project's programs start (runtime/lazySdk.js in both Node.js processes). */
async function floorUp(): Promise<number> {
    const workspace = throwawayWorkspace();
    try {
        fs.writeFileSync(path.join(workspace.projectDir, "Pulumi.yaml"), "name: floor\nruntime:\n  name: nodejs\n  options:\n    typescript: false\nmain: index.js\n");
        fs.writeFileSync(
            path.join(workspace.projectDir, "index.js"),
            'const lazy = require("./runtime/lazySdk");\n' +
                "lazy.defer([lazy.ARBORIST, lazy.TYPESCRIPT], __dirname);\n" +
                'const pulumi = require("@pulumi/pulumi");\n' +
                "const nothing = { async create() { return { id: \"nothing\", outs: {} }; } };\n" +
                'new pulumi.dynamic.Resource(nothing, "nothing", {});\n',
        );
        for (const shared of ["node_modules", "runtime"]) {
            fs.symlinkSync(path.join(REPO_ROOT, shared), path.join(workspace.projectDir, shared));
        }
        const stack = await workspace.createStack("prod", {});
        const ms = timedUp(workspace.projectDir, workspace.envVars);
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
    const floor: number[] = [];
    const firstUp: number[] = [];
    const sequential: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
        const root = tempDir("stagewise-bench-");
        try {
            raw.push(rawCommands(root, await freePort()));
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
        up.push(await stageUp(await freePort()));
        floor.push(await floorUp());
        firstUp.push(await stageUp(await freePort(), { coldCaches: true }));
        sequential.push(await stageUp(await freePort(), { prepareAhead: false }));
        console.error(
            `round ${round}/${ROUNDS}: raw ${raw.at(-1)!.toFixed(0)} ms, pulumi up ${up.at(-1)!.toFixed(0)} ms (${(up.at(-1)! / raw.at(-1)!).toFixed(2)}x), floor ${floor.at(-1)!.toFixed(0)} ms, ` +
                `first up ${firstUp.at(-1)!.toFixed(0)} ms, without initdb ahead ${sequential.at(-1)!.toFixed(0)} ms`,
        );
    }
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(`\nstage up benchmark (${ROUNDS} rounds, medians), ${new Date().toISOString().slice(0, 10)}`);
    console.log("| work | time | vs raw commands | target |");
    console.log("|---|---|---|---|");
    console.log(`| raw PostgreSQL commands: initdb, pg_ctl start, create role, 3 x (createdb + schema) | ${seconds(median(raw))} | 1.00x | |`);
    console.log(`| \`pulumi up\` of the production stage (stagewise) | ${seconds(median(up))} | ${(median(up) / median(raw)).toFixed(2)}x | <= 1.5x |`);
    console.log(`| the same, as the first \`up\` after a checkout or an edit (empty transpile and parse caches) | ${seconds(median(firstUp))} | ${(median(firstUp) / median(raw)).toFixed(2)}x | |`);
    console.log(`| the same without starting initdb ahead (STAGEWISE_PREPARE_AHEAD=0) | ${seconds(median(sequential))} | ${(median(sequential) / median(raw)).toFixed(2)}x | |`);
    console.log(`| \`pulumi up\` of one do-nothing dynamic resource (the engine's floor) | ${seconds(median(floor))} | ${(median(floor) / median(raw)).toFixed(2)}x | |`);
    console.log(`| stage minus floor (stagewise's own time on top of the engine) | ${seconds(median(up) - median(floor))} | ${((median(up) - median(floor)) / median(raw)).toFixed(2)}x | |`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
