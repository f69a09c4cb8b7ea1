// Benchmark: stagewise on SSH hosts (namespace hosts, test/harness/testHosts.ts) against the raw
// commands an operator would run over ssh doing the same work, in the same run:
//   1. `pulumi up` of a production stage whose server is on host a, against one ssh session running
//      initdb, pg_ctl start, create role and 3 x (createdb + schema) there (target: at most 1.5x);
//   2. the staging copy from host a onto host b (pg_basebackup on b streaming from a, verified,
//      swapped, identity kept) against `ssh b pg_basebackup -h a` (target: at most 1.3x).
// Prints a table and the ratios; asserts nothing.
//
//   npm run bench -- remoteHosts        (BENCH_ROUNDS rounds of 1, default 3; BENCH_MB of business data for 2, default 200)
import * as childProcess from "child_process";
import { copyDatabases } from "../components/copy/stagingCopy";
import { DATABASE_ROLES, referenceSchemaSql } from "../components/engine/referenceSchema";
import { findPostgresBinDir, hostOf } from "../components/platform/local";
import type { RemoteMachine } from "../components/platform/platform";
import { bootstrap, ClusterLocation } from "../components/postgres/cluster";
import { freePort, throwawayWorkspace } from "../test/harness/engine";
import { engineBootstrap, runCluster } from "../test/harness/postgres";
import { startTestHosts, TestHosts } from "../test/harness/testHosts";
import { benchCopyRequest, seedBusinessDocuments } from "./seed";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MB = Number(process.env.BENCH_MB ?? 200);
const BIN = findPostgresBinDir(undefined); // the hosts share this machine's programs
const PASSWORD = "bench-password";

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function timed(work: () => void): number {
    const started = process.hrtime.bigint();
    work();
    return Number(process.hrtime.bigint() - started) / 1e6;
}

/** One ssh session to `host` running `script` (bash), as an operator's script would. */
function sshScript(hosts: TestHosts, host: string, script: string): void {
    hosts.ssh(host, `echo ${Buffer.from(script).toString("base64")} | base64 -d | bash -e`);
}

/** What an operator runs on the host: initdb, settings, pg_ctl start, the role, three databases with their schema. */
function rawStageScript(dir: string, address: string, port: number): string {
    const tables = { server: { schema: "Server", table: "Server" }, licenseKey: { schema: "HostServer", table: "LicenseKey" } };
    const asPostgres = (command: string) => `runuser -u postgres -- env PGPASSWORD=${PASSWORD} PGHOST=${address} PGPORT=${port} PGUSER=postgres ${command}`;
    return [
        `mkdir -p ${dir} && chown postgres ${dir} && chmod 700 ${dir}`,
        `echo ${PASSWORD} > ${dir}/pw && chown postgres ${dir}/pw && chmod 600 ${dir}/pw`,
        asPostgres(`${BIN}/initdb -D ${dir}/pgdata -U postgres --pwfile ${dir}/pw --auth-local scram-sha-256 --auth-host scram-sha-256 --data-checksums -E UTF8 --no-locale --no-instructions >/dev/null`),
        `printf "listen_addresses = '${address}'\\nport = ${port}\\nunix_socket_directories = '${dir}'\\n" >> ${dir}/pgdata/postgresql.conf`,
        `echo "host all all samenet scram-sha-256" >> ${dir}/pgdata/pg_hba.conf`,
        asPostgres(`${BIN}/pg_ctl start -D ${dir}/pgdata -l ${dir}/server.log -w -s`),
        asPostgres(`${BIN}/psql -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE ROLE engine LOGIN PASSWORD 'bench-app'"`),
        ...DATABASE_ROLES.flatMap((role) => [
            asPostgres(`${BIN}/createdb -O engine ${role}`),
            `${asPostgres(`${BIN}/psql -q -v ON_ERROR_STOP=1 -d ${role} -c "SET ROLE engine" -f -`)} <<'STAGEWISE_SQL'\n${referenceSchemaSql(role, tables)}\nSTAGEWISE_SQL`,
        ]),
    ].join("\n");
}

function pulumiCli(args: string[], cwd: string, env: Record<string, string>): void {
    const result = childProcess.spawnSync("pulumi", args, { cwd, env: { ...process.env, ...env }, encoding: "utf8" });
    if (result.status !== 0) {
        throw new Error(`pulumi ${args[0]} failed:\n${result.stdout}\n${result.stderr}`);
    }
}

/** `pulumi up` (no preview, no prompt) of a production stage whose server is on host a; destroyed afterwards. */
async function stageUpOnHost(hosts: TestHosts, root: string): Promise<number> {
    const a = hosts.hosts[0];
    const workspace = throwawayWorkspace();
    try {
        const stack = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: await freePort(), host: "a" } }),
        });
        await stack.setConfig("stagewise:hosts", {
            value: JSON.stringify({ a: { address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey, dataRoot: root } }),
            secret: true,
        });
        const ms = timed(() => pulumiCli(["up", "--yes", "--skip-preview", "--non-interactive", "--color", "never", "--stack", "prod"], workspace.projectDir, workspace.envVars));
        pulumiCli(["state", "unprotect", "--all", "--yes", "--stack", "prod"], workspace.projectDir, workspace.envVars);
        await stack.destroy({ color: "never" });
        return ms;
    } finally {
        workspace.dispose();
    }
}

async function stageUps(hosts: TestHosts): Promise<{ raw: number[]; up: number[] }> {
    const a = hosts.hosts[0];
    const raw: number[] = [];
    const up: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
        const dir = `${a.dataFolder}/raw-${round}`;
        raw.push(timed(() => sshScript(hosts, "a", rawStageScript(dir, a.address, 15000 + round))));
        sshScript(hosts, "a", `runuser -u postgres -- ${BIN}/pg_ctl stop -D ${dir}/pgdata -m fast -w -s; rm -rf ${dir}`);
        up.push(await stageUpOnHost(hosts, `${a.dataFolder}/stage-${round}`));
        console.log(`round ${round}/${ROUNDS}: raw over ssh ${raw.at(-1)!.toFixed(0)} ms, pulumi up ${up.at(-1)!.toFixed(0)} ms (${(up.at(-1)! / raw.at(-1)!).toFixed(2)}x)`);
    }
    return { raw, up };
}

async function copies(hosts: TestHosts): Promise<{ raw: number; copy: number; megabytes: string }> {
    const machine = (i: number, name: string): RemoteMachine => {
        const h = hosts.hosts[i];
        return { name, address: h.address, port: h.port, user: h.user, privateKey: hosts.clientKey, hostKey: h.hostKey };
    };
    const on = (i: number, name: string, server: string): ClusterLocation => ({
        binDir: BIN, serverDir: `${hosts.hosts[i].dataFolder}/${server}`, host: hosts.hosts[i].address, port: 5432, osUser: "postgres", machine: machine(i, name),
    });
    const prod = on(0, "a", "prod-db");
    const staging = on(1, "b", "test-db");
    for (const loc of [prod, staging]) {
        hostOf(loc).makeFolder(loc.serverDir);
        runCluster(loc, PASSWORD);
        await bootstrap(loc, PASSWORD, engineBootstrap("bench-engine"));
    }
    await seedBusinessDocuments(prod, PASSWORD, MB);
    const megabytes = hosts.ssh("a", `du -sm ${prod.serverDir}/pgdata | cut -f1`).trim();
    const rawDir = `${hosts.hosts[1].dataFolder}/raw-basebackup`;
    const raw = timed(() =>
        sshScript(hosts, "b", `install -d -o postgres -m 700 ${rawDir}\nrunuser -u postgres -- env PGPASSWORD=${PASSWORD} ${BIN}/pg_basebackup -h ${prod.host} -p ${prod.port} -U postgres -D ${rawDir}/pgdata -X stream -c fast -w`),
    );
    hosts.ssh("b", `rm -rf ${rawDir}`);
    const started = process.hrtime.bigint();
    await copyDatabases(benchCopyRequest(prod, staging, PASSWORD));
    return { raw, copy: Number(process.hrtime.bigint() - started) / 1e6, megabytes };
}

async function main(): Promise<void> {
    const hosts = await startTestHosts(2);
    try {
        const ups = await stageUps(hosts);
        const copy = await copies(hosts);
        const date = new Date().toISOString().slice(0, 10);
        console.log(`\nSSH hosts benchmark, ${date}, median of ${ROUNDS} round(s) for the stage; copy of a ${copy.megabytes} MB data directory`);
        console.log("| work | time | vs raw | target |");
        console.log("|---|---|---|---|");
        console.log(`| raw over one ssh session: initdb, pg_ctl start, create role, 3 x (createdb + schema) on host a | ${seconds(median(ups.raw))} | 1.00x | |`);
        console.log(`| \`pulumi up\` of the production stage with its server on host a (stagewise) | ${seconds(median(ups.up))} | ${(median(ups.up) / median(ups.raw)).toFixed(2)}x | <= 1.5x |`);
        console.log(`| raw \`ssh b pg_basebackup -h a\` (whole cluster, no checks) | ${seconds(copy.raw)} | 1.00x | |`);
        console.log(`| stagewise copy from a onto b (pg_basebackup on b + verify + swap + identity) | ${seconds(copy.copy)} | ${(copy.copy / copy.raw).toFixed(2)}x | <= 1.3x |`);
    } finally {
        await hosts.stop();
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
