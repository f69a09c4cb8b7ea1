// Copying production's engine databases onto a staging server (components/platform/copy.ts), with two
// real clusters: the copy, its progress, kill -9 at every boundary followed by recovery, refusals.
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import {
    bootstrap,
    clusterStatus,
    connect,
    dataDirOf,
    liveFacts,
    startCluster,
    stopCluster,
    ClusterLocation,
} from "../../components/postgres/cluster";
import {
    copyDatabases,
    copyPathsOf,
    recoverInterruptedCopy,
    CopyReport,
    CopyRequest,
    TableFigures,
} from "../../components/copy/stagingCopy";
import { clusterLocation, engineBootstrap, processesMentioning, removeCluster, runCluster, tempDir, ENGINE_TABLES } from "../harness/postgres";

jest.setTimeout(300_000);

const REPO_ROOT = path.resolve(__dirname, "../..");
const DRIVER = path.join(REPO_ROOT, "test/harness/copyDriver.ts");
const PROD_SUPER = "prod-superuser-pw";
const PROD_ENGINE = "prod-engine-pw";
const TEST_SUPER = "test-superuser-pw:with\\odd:chars";
const TEST_ENGINE = "test-engine-pw";
const DATABASES = ["work", "business", "config"];
const PROD_SETTINGS = { work_mem: "16MB", shared_buffers: "32MB" };
const TEST_SETTINGS = { work_mem: "8MB" };
const IDENTITY_TABLES = ["config/HostServer.LicenseKey", "config/Server.Server"];
const CONFIG_FILES = ["stagewise.conf", "pg_hba.conf", "postgresql.conf", "postgresql.auto.conf", "pg_ident.conf"];

let root: string;
let prod: ClusterLocation;
let staging: ClusterLocation;
/** Progress messages of the first copy. */
const messages: string[] = [];
/** Child processes of this file, killed (by PID) if a test fails half-way. */
const children: ChildProcess[] = [];

async function createServer(loc: ClusterLocation, superPw: string, enginePw: string, settings: Record<string, string>): Promise<void> {
    runCluster(loc, superPw, settings);
    await bootstrap(loc, superPw, engineBootstrap(enginePw));
}

async function sql<T = Record<string, unknown>>(loc: ClusterLocation, password: string, database: string, text: string): Promise<T[]> {
    const client = await connect(loc, password, database);
    try {
        return (await client.query(text)).rows as T[];
    } finally {
        await client.end();
    }
}

/** Figures computed independently of copy.ts, in plain SQL (the documented formula). */
async function sqlFigures(loc: ClusterLocation, password: string): Promise<TableFigures[]> {
    const figures: TableFigures[] = [];
    for (const database of DATABASES) {
        const client = await connect(loc, password, database);
        try {
            const tables = await client.query(
                "SELECT schemaname AS s, tablename AS t FROM pg_tables WHERE schemaname <> 'information_schema' AND schemaname !~ '^pg_' ORDER BY 1, 2",
            );
            for (const { s, t } of tables.rows as { s: string; t: string }[]) {
                const { rows } = await client.query(
                    `SELECT count(*)::int AS rows, md5(coalesce(string_agg(md5(t::text) || E'\\n', '' ORDER BY md5(t::text) COLLATE "C"), '')) AS checksum ` +
                        `FROM ${client.escapeIdentifier(s)}.${client.escapeIdentifier(t)} t`,
                );
                figures.push({ database, table: `${s}.${t}`, rows: rows[0].rows, checksum: rows[0].checksum });
            }
        } finally {
            await client.end();
        }
    }
    return figures.sort(byDatabaseTable);
}

function byDatabaseTable(a: TableFigures, b: TableFigures): number {
    const x = `${a.database}/${a.table}`;
    const y = `${b.database}/${b.table}`;
    return x < y ? -1 : x > y ? 1 : 0;
}

const isIdentity = (f: TableFigures) => IDENTITY_TABLES.includes(`${f.database}/${f.table}`);

/** Every relation and database of a server, and its replication slots: what "nothing written" means here. */
async function serverInventory(loc: ClusterLocation, password: string): Promise<unknown> {
    const inventory: Record<string, unknown> = {
        databases: await sql(loc, password, "postgres", "SELECT datname FROM pg_database ORDER BY 1"),
        slots: await sql(loc, password, "postgres", "SELECT slot_name FROM pg_replication_slots"),
        roles: await sql(loc, password, "postgres", "SELECT rolname, rolpassword FROM pg_authid ORDER BY 1"),
    };
    for (const database of ["postgres", ...DATABASES]) {
        inventory[database] = await sql(
            loc,
            password,
            database,
            "SELECT n.nspname, c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname !~ '^pg_' ORDER BY 1, 2",
        );
    }
    return inventory;
}

function request(overrides: Partial<CopyRequest> = {}): CopyRequest {
    return {
        source: { host: prod.host, port: prod.port, superuserPassword: PROD_SUPER },
        target: staging,
        targetSuperuserPassword: TEST_SUPER,
        targetSettings: TEST_SETTINGS,
        ownerRole: "engine",
        ownerPassword: TEST_ENGINE,
        databases: DATABASES,
        identity: { database: "config", tables: [ENGINE_TABLES.server, ENGINE_TABLES.licenseKey] },
        ...overrides,
    };
}

async function engineLogin(loc: ClusterLocation, password: string): Promise<void> {
    const client = new Client({ host: loc.host, port: loc.port, user: "engine", password, database: "work" });
    await client.connect();
    await client.end();
}

async function identityRows(loc: ClusterLocation, password: string): Promise<unknown> {
    return {
        servers: await sql(loc, password, "config", 'SELECT "ServerName", "HostName" FROM "Server"."Server" ORDER BY 1'),
        licenses: await sql(loc, password, "config", 'SELECT "ServerName", "LicenseKey" FROM "HostServer"."LicenseKey" ORDER BY 1'),
    };
}

const STAGING_IDENTITY = {
    servers: [{ ServerName: "TEST-1", HostName: "test-host" }],
    licenses: [{ ServerName: "TEST-1", LicenseKey: "LIC-TEST" }],
};

function configFiles(loc: ClusterLocation): Record<string, string | null> {
    return Object.fromEntries(
        CONFIG_FILES.map((name) => {
            const file = path.join(dataDirOf(loc), name);
            return [name, fs.existsSync(file) ? fs.readFileSync(file, "utf8") : null];
        }),
    );
}

function leftovers(loc: ClusterLocation): string[] {
    const p = copyPathsOf(loc);
    const named = [p.incoming, p.previous, p.discarded, p.journal, path.join(p.data, "stagewise-copy-complete.json")].filter((f) => fs.existsSync(f)).map((f) => path.basename(f));
    const others = fs.readdirSync(loc.serverDir).filter((f) => f.startsWith(".copy-pgpass") || f.endsWith(".tmp"));
    return [...named, ...others];
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 5));
    }
}

/** Asserts everything a finished copy promises; `prodFigures` were computed on production before it. */
async function assertCopied(report: CopyReport, prodFigures: TableFigures[], stagingConfig: Record<string, string | null>): Promise<void> {
    expect(report.method).toBe("pg_basebackup");
    expect(report.verified).toBe(true);
    expect(report.identityRowsRestored).toBe(2);
    expect(report.bytes).toBeGreaterThan(1_000_000);
    expect(Date.parse(report.finishedAt)).toBeGreaterThanOrEqual(Date.parse(report.startedAt));
    expect(report.tables.map((f) => `${f.database}/${f.table}`)).toEqual([
        "business/Business.Document",
        "config/HostServer.LicenseKey",
        "config/Server.Server",
        "work/Work.ProcessDefinition",
        "work/Work.ProcessInstance",
        "work/Work.Trigger",
    ]);
    expect([...report.tables].sort(byDatabaseTable)).toEqual(report.tables);

    // The copied tables equal production's (figures in plain SQL on production, idle meanwhile).
    const copied = report.tables.filter((f) => !isIdentity(f));
    expect(copied).toEqual(prodFigures.filter((f) => !isIdentity(f)));
    expect(copied.find((f) => f.table === "Work.ProcessInstance")?.rows).toBe(3000);
    expect(copied.find((f) => f.table === "Business.Document")?.rows).toBe(2000);
    const stagingFigures = await sqlFigures(staging, TEST_SUPER);
    expect(stagingFigures).toEqual(report.tables);
    expect(await sql(staging, TEST_SUPER, "business", `SELECT count(*)::int AS n FROM "Business"."Document" WHERE "Reference" LIKE 'STAGING-%'`)).toEqual([{ n: 0 }]);

    // Staging keeps its identity: rows, passwords, port, settings and configuration files.
    expect(await identityRows(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
    expect(report.tables.filter(isIdentity).map((f) => f.rows)).toEqual([1, 1]);
    await expect(engineLogin(staging, TEST_ENGINE)).resolves.toBeUndefined();
    await expect(connect(staging, PROD_SUPER)).rejects.toThrow(/password authentication failed for user "postgres"/);
    await expect(engineLogin(staging, PROD_ENGINE)).rejects.toThrow(/password authentication failed for user "engine"/);
    expect(
        await sql(
            staging,
            TEST_SUPER,
            "postgres",
            "SELECT current_setting('port') AS port, current_setting('work_mem') AS work_mem, current_setting('shared_buffers') AS shared_buffers, current_setting('statement_timeout') AS statement_timeout",
        ),
    ).toEqual([{ port: String(staging.port), work_mem: "8MB", shared_buffers: "128MB", statement_timeout: "0" }]);
    expect(configFiles(staging)).toEqual(stagingConfig);
    expect(leftovers(staging)).toEqual([]);

    // A physical copy: production's system identifier.
    const prodFacts = await liveFacts(prod, PROD_SUPER);
    expect(report.sourceSystemIdentifier).toBe(prodFacts.systemIdentifier);
    expect((await liveFacts(staging, TEST_SUPER)).systemIdentifier).toBe(prodFacts.systemIdentifier);
}

/** Asserts the staging server runs with exactly the data it had (`before`), its identity and its passwords. */
async function assertPrevious(before: TableFigures[], marker: string): Promise<void> {
    expect(clusterStatus(staging)).toBe("running");
    expect(await sqlFigures(staging, TEST_SUPER)).toEqual(before);
    expect(await sql(staging, TEST_SUPER, "business", `SELECT "Reference" FROM "Business"."Document" WHERE "Reference" = '${marker}'`)).toEqual([
        { Reference: marker },
    ]);
    expect(await identityRows(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
    await expect(engineLogin(staging, TEST_ENGINE)).resolves.toBeUndefined();
    await expect(connect(staging, PROD_SUPER)).rejects.toThrow(/password authentication failed/);
    expect((await sql(staging, TEST_SUPER, "postgres", "SELECT current_setting('port') AS port"))[0]).toEqual({ port: String(staging.port) });
    expect(leftovers(staging)).toEqual([]);
    const postmasters = processesMentioning(staging.serverDir).filter((l) => /\/postgres -D /.test(l));
    expect(postmasters.map((l) => l.replace(/^\d+ /, ""))).toEqual([`${staging.binDir}/postgres -D ${dataDirOf(staging)}`]);
}

beforeAll(async () => {
    root = tempDir("stagewise-copy-");
    prod = await clusterLocation(root, "prod");
    staging = await clusterLocation(root, "staging");
    await createServer(prod, PROD_SUPER, PROD_ENGINE, PROD_SETTINGS);
    await createServer(staging, TEST_SUPER, TEST_ENGINE, TEST_SETTINGS);

    await sql(prod, PROD_SUPER, "postgres", "ALTER SYSTEM SET statement_timeout = '123s'");
    await sql(
        prod,
        PROD_SUPER,
        "work",
        `INSERT INTO "Work"."ProcessDefinition" ("Name", "Version", "Definition") VALUES ('Invoice', 3, '{"steps": 5}');
         INSERT INTO "Work"."Trigger" ("Name", "Process") VALUES ('nightly', 'Invoice');
         INSERT INTO "Work"."ProcessInstance" ("Process", "State", "Step", "Data")
             SELECT 'Invoice', (ARRAY['running', 'completed', 'terminated'])[1 + i % 3], i % 5, jsonb_build_object('n', i, 'text', repeat('x', i % 50))
             FROM generate_series(1, 3000) i;`,
    );
    await sql(
        prod,
        PROD_SUPER,
        "business",
        `INSERT INTO "Business"."Document" ("Reference", "Payload")
             SELECT 'DOC-' || i, jsonb_build_object('amount', i * 1.5, 'lines', i % 7) FROM generate_series(1, 2000) i;`,
    );
    await sql(
        prod,
        PROD_SUPER,
        "config",
        `INSERT INTO "Server"."Server" ("ServerName", "HostName") VALUES ('PROD-1', 'prod-host');
         INSERT INTO "HostServer"."LicenseKey" ("ServerName", "LicenseKey", "ValidUntil") VALUES ('PROD-1', 'LIC-PROD', '2030-01-01');`,
    );
    await sql(
        staging,
        TEST_SUPER,
        "config",
        `INSERT INTO "Server"."Server" ("ServerName", "HostName") VALUES ('TEST-1', 'test-host');
         INSERT INTO "HostServer"."LicenseKey" ("ServerName", "LicenseKey") VALUES ('TEST-1', 'LIC-TEST');`,
    );
    await sql(staging, TEST_SUPER, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('STAGING-MARKER')`);
});

afterAll(async () => {
    // A test that failed half-way may leave a copier running: kill it (by PID), then let recovery stop
    // any server it started on the incoming copy before the folders go.
    for (const child of children) {
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
            const exited = new Promise((r) => child.on("exit", r));
            process.kill(child.pid, "SIGKILL");
            await exited;
        }
    }
    if (staging) {
        await recoverInterruptedCopy(staging).catch(() => undefined);
        removeCluster(staging);
    }
    if (prod) {
        removeCluster(prod);
    }
    const left = root ? processesMentioning(root) : [];
    if (root) {
        fs.rmSync(root, { recursive: true, force: true });
    }
    expect(left).toEqual([]);
});

test("copying a server onto itself is refused with a clear message, before anything is touched", async () => {
    const before = await sqlFigures(staging, TEST_SUPER);
    for (const host of [staging.host, "localhost"]) {
        await expect(
            copyDatabases(request({ source: { host, port: staging.port, superuserPassword: TEST_SUPER } })),
        ).rejects.toThrow(`refusing to copy ${host}:${staging.port} onto itself: the source (production) and the target (staging server in ${staging.serverDir}) are the same server`);
    }
    expect(await sqlFigures(staging, TEST_SUPER)).toEqual(before);
    expect(leftovers(staging)).toEqual([]);
});

test("a wrong production password fails the copy and leaves the staging server as it was", async () => {
    const before = await sqlFigures(staging, TEST_SUPER);
    const err = await copyDatabases(request({ source: { host: prod.host, port: prod.port, superuserPassword: "wrong" } })).then(
        () => undefined,
        (e: Error) => e,
    );
    expect(err?.message).toMatch(/pg_basebackup failed \(exit 1\):[\s\S]*password authentication failed for user "postgres"/);
    expect(err?.message).toMatch(/the staging server's previous databases are in place/);
    expect(err?.message).not.toContain("wrong");
    await assertPrevious(before, "STAGING-MARKER");
});

test("a copy makes the staging databases equal to production's, keeps staging's identity, and leaves production unchanged", async () => {
    const prodFigures = await sqlFigures(prod, PROD_SUPER);
    const prodInventory = await serverInventory(prod, PROD_SUPER);
    const prodConfig = configFiles(prod);
    const stagingConfig = configFiles(staging);
    expect(await identityRows(prod, PROD_SUPER)).toEqual({
        servers: [{ ServerName: "PROD-1", HostName: "prod-host" }],
        licenses: [{ ServerName: "PROD-1", LicenseKey: "LIC-PROD" }],
    });

    const report = await copyDatabases(request({ onProgress: (m) => messages.push(m) }));

    await assertCopied(report, prodFigures, stagingConfig);
    // Production was only read: same figures, relations, databases, roles, no slot left, same files.
    expect(await sqlFigures(prod, PROD_SUPER)).toEqual(prodFigures);
    expect(await serverInventory(prod, PROD_SUPER)).toEqual(prodInventory);
    expect(configFiles(prod)).toEqual(prodConfig);
    expect((await sql(prod, PROD_SUPER, "postgres", "SELECT current_setting('port') AS port"))[0]).toEqual({ port: String(prod.port) });
});

test("the copy reported bytes copied and one line per phase", () => {
    expect(messages.some((m) => /^copied \d+ of \d+ kB \(\d+%\)$/.test(m))).toBe(true);
    expect(messages).toContain(`copying ${prod.host}:${prod.port} with pg_basebackup into ${copyPathsOf(staging).incoming}`);
    const phases = [
        /^saved 2 identity rows of the staging server \(config\.Server\.Server: 1, config\.HostServer\.LicenseKey: 1\)$/,
        /^copying /,
        /^copied \d+ of \d+ kB \(100%\)$/,
        /^copied \d+ bytes in [\d.]+ s$/,
        /^verifying the copy with pg_verifybackup$/,
        /^pg_verifybackup: backup successfully verified$/,
        /^computing the figures of the copy on a temporary server \(port \d+\)$/,
        /^figures of the copy: 6 tables in work, business, config$/,
        /^reset the passwords of postgres and engine to the staging server's own$/,
        /^restored 2 identity rows of the staging server$/,
        /^verified: 4 tables equal to the copy, 2 identity tables as before the copy$/,
        /^stopping the staging server and swapping in the copy$/,
        /^started the staging server on the copy \(port \d+\)$/,
        /^copy committed$/,
    ];
    let at = 0;
    for (const phase of phases) {
        const found = messages.findIndex((m, i) => i >= at && phase.test(m));
        expect({ phase: String(phase), found: found >= 0 }).toEqual({ phase: String(phase), found: true });
        at = found + 1;
    }
});

/** Starts a copy in a process of its own (the request on stdin); resolves with its exit once it ends. */
function copyInChild(env: Record<string, string> = {}): { child: ChildProcess; output: () => string; exited: Promise<void> } {
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", DRIVER], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    children.push(child);
    let output = "";
    child.stdout!.on("data", (c) => (output += String(c)));
    child.stderr!.on("data", (c) => (output += String(c)));
    child.stdin!.end(JSON.stringify(request()));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    return { child, output: () => output, exited };
}

/**
 * What the staging server serves right after a kill, before any recovery, and what it would serve if
 * anyone (not stagewise) started it: never the copy with production's identity. Leaves it as found.
 */
async function servedRightAfterKill(): Promise<"running" | "stopped" | "no data directory"> {
    const status = clusterStatus(staging);
    if (status === "missing") {
        return "no data directory";
    }
    if (status === "running") {
        expect(await identityRows(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
        await expect(connect(staging, PROD_SUPER)).rejects.toThrow(/password authentication failed/);
        return "running";
    }
    startCluster(staging); // as anyone could
    try {
        expect(await identityRows(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
        await expect(connect(staging, PROD_SUPER)).rejects.toThrow(/password authentication failed/);
    } finally {
        stopCluster(staging);
    }
    return "stopped";
}

// Every boundary of the copy from the finished base backup to the commit (copy.ts killPoint), with
// what the staging server serves right after the kill and how recovery ends.
test.each<[string, "running" | "stopped" | "no data directory", string]>([
    ["incoming-copied", "running", "cleaned"],
    ["incoming-configured", "running", "cleaned"],
    ["temporary-server", "running", "cleaned"],
    ["identity-restored", "running", "cleaned"],
    ["verified", "running", "cleaned"],
    ["staging-stopped", "stopped", "cleaned"],
    ["previous-moved", "no data directory", "rolled back"],
    ["copy-moved", "stopped", "completed"],
    ["committed", "stopped", "completed"],
])("kill -9 of the copying process at %s: it serves %s with its own identity, recovery ends %s", async (point, served, outcome) => {
    const marker = `STAGING-MARKER-${Date.now()}`;
    await sql(staging, TEST_SUPER, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('${marker}')`);
    const before = await sqlFigures(staging, TEST_SUPER);
    const prodFigures = await sqlFigures(prod, PROD_SUPER);

    const run = copyInChild({ STAGEWISE_COPY_KILL_POINT: point });
    await waitFor("the kill point", () => run.output().includes(`kill point: ${point}`) || run.child.exitCode !== null);
    expect(run.child.exitCode).toBeNull();
    process.kill(run.child.pid!, "SIGKILL");
    await run.exited;
    // Its programs and its temporary server die with it (setpriv --pdeathsig).
    const incoming = copyPathsOf(staging).incoming;
    await waitFor("the copier's programs to end", () => processesMentioning(staging.serverDir).every((l) => !/pg_basebackup|pg_verifybackup/.test(l) && !l.includes(`-D ${incoming}`)), 10_000);

    expect(await servedRightAfterKill()).toBe(served);
    const recovery = await recoverInterruptedCopy(staging);
    expect(recovery.outcome).toBe(outcome);
    if (outcome === "completed") {
        expect(clusterStatus(staging)).toBe("running");
        expect((await sqlFigures(staging, TEST_SUPER)).filter((f) => !isIdentity(f))).toEqual(prodFigures.filter((f) => !isIdentity(f)));
        expect(await identityRows(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
        await expect(connect(staging, PROD_SUPER)).rejects.toThrow(/password authentication failed/);
        expect(leftovers(staging)).toEqual([]);
    } else {
        await assertPrevious(before, marker);
    }
    expect(await recoverInterruptedCopy(staging)).toEqual({ outcome: "none", actions: [] });
});

test("after the interruptions a normal copy converges", async () => {
    const prodFigures = await sqlFigures(prod, PROD_SUPER);
    const stagingConfig = configFiles(staging);
    const run = copyInChild();
    await run.exited;
    expect(run.child.exitCode).toBe(0);
    const line = run.output().split("\n").find((l) => l.startsWith("report: "));
    const report = JSON.parse(line!.slice("report: ".length)) as CopyReport;
    await assertCopied(report, prodFigures, stagingConfig);
    expect(await sqlFigures(prod, PROD_SUPER)).toEqual(prodFigures);
});

test("a copy onto a stopped staging server leaves it stopped, with the copy and its own identity", async () => {
    const prodFigures = await sqlFigures(prod, PROD_SUPER);
    await sql(staging, TEST_SUPER, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('STAGING-STOPPED')`);
    stopCluster(staging);
    const report = await copyDatabases(request());
    expect(clusterStatus(staging)).toBe("stopped");
    expect(leftovers(staging)).toEqual([]);
    startCluster(staging);
    expect(report.identityRowsRestored).toBe(2);
    expect((await sqlFigures(staging, TEST_SUPER)).filter((f) => !isIdentity(f))).toEqual(prodFigures.filter((f) => !isIdentity(f)));
    expect(await identityRows(staging, TEST_SUPER)).toEqual(STAGING_IDENTITY);
});

test("recovery refuses to undo a copy whose process still runs, and cleans up once it has gone", async () => {
    const sleeper = spawn("sleep", ["60"]);
    children.push(sleeper);
    const journal = copyPathsOf(staging).journal;
    fs.writeFileSync(
        journal,
        JSON.stringify({ phase: "copying", wasRunning: true, copyId: "test", pid: sleeper.pid, pidStartTime: null, source: "elsewhere:5432", startedAt: "now" }),
    );
    await expect(recoverInterruptedCopy(staging)).rejects.toThrow(
        `a copy from elsewhere:5432 onto ${staging.serverDir} is still running (process ${sleeper.pid}, since now)`,
    );
    await expect(copyDatabases(request())).rejects.toThrow(/is still running/);
    expect(fs.existsSync(journal)).toBe(true);
    const gone = new Promise((r) => sleeper.on("exit", r));
    process.kill(sleeper.pid!, "SIGKILL");
    await gone;
    expect(await recoverInterruptedCopy(staging)).toEqual({ outcome: "cleaned", actions: ["removed the copy journal"] });
    expect(leftovers(staging)).toEqual([]);
    expect(clusterStatus(staging)).toBe("running");
});
