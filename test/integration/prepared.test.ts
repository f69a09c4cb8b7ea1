// Clusters prepared ahead (components/server/prepared.ts) with real initdb and real servers: a new
// server's create adopts the one the program prepared, waits for one still being made, and runs its
// own initdb whenever preparing did not work out; nothing prepared outlives its preparer.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../../components/postgres/cluster";
import { findPostgresBinDir, serverOsUser } from "../../components/platform/local";
import { claimPrepared, PREPARED_DIR, prepareCluster, PrepareSpec } from "../../components/server/prepared";
import { newCluster, ServerInputs } from "../../components/server/serverLifecycle";
import { freePort, REPO_ROOT } from "../harness/engine";
import { processesMentioning, removeCluster, tempDir } from "../harness/postgres";

jest.setTimeout(120_000);

const MARKER = ".stagewise-data-root.json";
const OWNER = "stagewise/prepared-test";
let root: string;

beforeEach(() => {
    root = tempDir("stagewise-prepared-");
});

afterEach(() => {
    for (const server of fs.existsSync(path.join(root, "data")) ? fs.readdirSync(path.join(root, "data")) : []) {
        removeCluster({ ...locationOf(server), port: 0 });
    }
    fs.rmSync(root, { recursive: true, force: true });
    jest.restoreAllMocks();
});

function spec(server = "db", binDir = findPostgresBinDir(undefined)): PrepareSpec {
    return { dataRoot: path.join(root, "data"), owner: OWNER, dataRootMarker: MARKER, server, binDir, osUser: serverOsUser(undefined) };
}

function locationOf(server: string, binDir = findPostgresBinDir(undefined)): cluster.ClusterLocation {
    return { binDir, serverDir: path.join(root, "data", server), host: "127.0.0.1", port: 0, osUser: serverOsUser(undefined) };
}

/** What the provider's create has done before it makes the cluster: the server's folder, owned by the servers' user. */
async function serverInputs(server = "db", binDir?: string): Promise<ServerInputs> {
    const loc = { ...locationOf(server, binDir), port: await freePort() };
    fs.mkdirSync(path.join(root, "data"), { recursive: true, mode: 0o755 });
    fs.mkdirSync(loc.serverDir, { mode: 0o700 });
    cluster.chownToServerUser(loc, loc.serverDir);
    return { ...loc, serverName: server, owner: OWNER, settings: { work_mem: "5MB" }, ownerRole: "engine", databases: [], retain: false, role: "primary", providerVersion: "test" };
}

function preparedEntries(): string[] {
    const dir = path.join(root, "data", PREPARED_DIR);
    return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

async function until(condition: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 600 && !condition(); i++) {
        await new Promise((r) => setTimeout(r, 50));
    }
    if (!condition()) {
        throw new Error(`timed out waiting for ${what}`);
    }
}

function systemIdentifierOf(dataDir: string, loc: cluster.ClusterLocation): string {
    const out = cluster.runProgram({ ...loc, serverDir: path.dirname(dataDir) }, "pg_controldata", [dataDir]);
    return /Database system identifier:\s+(\d+)/.exec(out)![1];
}

async function systemIdentifierOfRunning(loc: cluster.ClusterLocation, password: string): Promise<string> {
    const client = await cluster.connect(loc, password);
    try {
        return (await client.query("SELECT system_identifier::text AS id FROM pg_control_system()")).rows[0].id;
    } finally {
        await client.end();
    }
}

test("a new server adopts the finished prepared cluster: same system identifier, its own password and settings, nothing left behind", async () => {
    expect(prepareCluster(spec())).toBe(true);
    await until(() => preparedEntries().some((e) => e.endsWith(".ready")), "the prepared cluster");
    const ready = preparedEntries().find((e) => e.endsWith(".ready"))!;
    const preparedPassword = fs.readFileSync(path.join(root, "data", PREPARED_DIR, ready, "password"), "utf8").trim();
    const preparedId = systemIdentifierOf(path.join(root, "data", PREPARED_DIR, ready, "pgdata"), locationOf("db"));
    const initdb = jest.spyOn(cluster, "initCluster");

    const inputs = await serverInputs();
    expect(await newCluster(inputs, "the-real-superuser-password")).toBe("ahead");

    expect(initdb).not.toHaveBeenCalled();
    const loc = cluster.locationOf(inputs);
    expect(await systemIdentifierOfRunning(loc, "the-real-superuser-password")).toBe(preparedId);
    await expect(cluster.connect(loc, preparedPassword)).rejects.toThrow(/password authentication failed for user "postgres"/);
    const client = await cluster.connect(loc, "the-real-superuser-password");
    try {
        const { rows } = await client.query("SELECT current_setting('work_mem') AS w, current_setting('port') AS p, current_setting('data_checksums') AS c");
        expect(rows[0]).toEqual({ w: "5MB", p: String(loc.port), c: "on" });
    } finally {
        await client.end();
    }
    expect(fs.readFileSync(path.join(cluster.dataDirOf(loc), "pg_hba.conf"), "utf8")).toContain("host    all          all  127.0.0.1/32   scram-sha-256");
    expect(fs.existsSync(path.join(root, "data", PREPARED_DIR))).toBe(false);
});

test("a create waits for a prepared cluster whose initdb is still running, and adopts it", async () => {
    expect(prepareCluster(spec())).toBe(true);
    expect(preparedEntries().map((e) => e.replace(/^db-[0-9a-f]{12}/, "db-<id>"))).toEqual(["db-<id>.preparing"]);
    const initdb = jest.spyOn(cluster, "initCluster");

    const inputs = await serverInputs();
    expect(await newCluster(inputs, "the-real-superuser-password")).toBe("ahead");

    expect(initdb).not.toHaveBeenCalled();
    expect(await systemIdentifierOfRunning(cluster.locationOf(inputs), "the-real-superuser-password")).toMatch(/^\d+$/);
    expect(fs.existsSync(path.join(root, "data", PREPARED_DIR))).toBe(false);
});

test("a prepared cluster is adopted only by its own server, with the same programs", async () => {
    expect(prepareCluster(spec("other"))).toBe(true);
    await until(() => preparedEntries().some((e) => e.endsWith(".ready")), "the prepared cluster");
    expect(await claimPrepared({ ...locationOf("db"), port: 1 }, "db")).toBeUndefined();
    expect(await claimPrepared({ ...locationOf("other", "/somewhere/else/bin"), port: 1 }, "other")).toBeUndefined();
    expect(preparedEntries().filter((e) => e.endsWith(".ready"))).toHaveLength(1);
});

test("when the prepared initdb fails, the create runs its own initdb and nothing prepared is left", async () => {
    // initdb that fails only when run for a prepared cluster
    const realBin = findPostgresBinDir(undefined);
    const binDir = path.join(root, "bin");
    fs.mkdirSync(binDir, { mode: 0o755 });
    for (const program of fs.readdirSync(realBin)) {
        fs.symlinkSync(path.join(realBin, program), path.join(binDir, program));
    }
    fs.rmSync(path.join(binDir, "initdb"));
    fs.writeFileSync(path.join(binDir, "initdb"), `#!/bin/sh\ncase "$*" in *${PREPARED_DIR}*) echo "disk full" >&2; exit 1;; esac\nexec "${realBin}/initdb" "$@"\n`, { mode: 0o755 });
    expect(prepareCluster(spec("db", binDir))).toBe(true);
    const initdb = jest.spyOn(cluster, "initCluster");

    const inputs = await serverInputs("db", binDir);
    expect(await newCluster(inputs, "the-real-superuser-password")).toBe("at create");

    expect(initdb).toHaveBeenCalledTimes(1);
    expect(await systemIdentifierOfRunning(cluster.locationOf(inputs), "the-real-superuser-password")).toMatch(/^\d+$/);
    expect(fs.existsSync(path.join(root, "data", PREPARED_DIR))).toBe(false);
});

test("a cluster prepared by a process that has ended is swept, never adopted", async () => {
    // A finished prepared cluster whose preparer (here a process that has already exited) is gone.
    const gone = childProcess.spawnSync("true").pid!;
    const dir = path.join(root, "data", PREPARED_DIR, "db-0123456789ab.ready");
    fs.mkdirSync(path.join(dir, "pgdata"), { recursive: true });
    fs.writeFileSync(path.join(dir, "preparer.json"), JSON.stringify({ server: "db", binDir: findPostgresBinDir(undefined), osUser: serverOsUser(undefined), pid: gone, pidStartTime: "1" }));
    fs.writeFileSync(path.join(dir, "password"), "stale\n");
    const initdb = jest.spyOn(cluster, "initCluster");

    const inputs = await serverInputs();
    expect(await newCluster(inputs, "the-real-superuser-password")).toBe("at create");

    expect(initdb).toHaveBeenCalledTimes(1);
    expect(fs.existsSync(path.join(root, "data", PREPARED_DIR))).toBe(false);
});

test("nothing is prepared for a server whose folder exists, or in a data root that is not this stack's", () => {
    fs.mkdirSync(path.join(root, "data", "db"), { recursive: true });
    expect(prepareCluster(spec())).toBe(false);
    fs.rmSync(path.join(root, "data", "db"), { recursive: true });
    fs.writeFileSync(path.join(root, "data", MARKER), JSON.stringify({ owner: "stagewise/someone-else" }));
    expect(prepareCluster(spec())).toBe(false);
    fs.rmSync(path.join(root, "data", MARKER));
    fs.writeFileSync(path.join(root, "data", "precious.txt"), "not yours");
    expect(prepareCluster(spec())).toBe(false);
    expect(fs.readdirSync(path.join(root, "data"))).toEqual(["precious.txt"]);
});

describe("a preparer that ends without a create adopting its cluster", () => {
    /** Runs a Node.js process that prepares `db` in `dataRoot`, waits for `waitFor` (a state), then exits. */
    function preparerProcess(waitFor: "preparing" | "ready"): void {
        const script = [
            'require("./runtime/typescript").register();',
            'const fs = require("fs"); const path = require("path");',
            'const prepared = require("./components/server/prepared.ts");',
            `const spec = ${JSON.stringify(spec())};`,
            'if (!prepared.prepareCluster(spec)) { process.exit(3); }',
            `const done = () => fs.readdirSync(path.join(spec.dataRoot, prepared.PREPARED_DIR)).some((e) => e.endsWith(".${waitFor}"));`,
            "const timer = setInterval(() => { if (done()) { clearInterval(timer); process.exit(0); } }, 20);",
        ].join("\n");
        const result = childProcess.spawnSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 });
        expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: "" });
    }

    test("after its initdb finished: the cluster and the data root it made are removed at its exit", () => {
        preparerProcess("ready");
        expect(fs.existsSync(path.join(root, "data"))).toBe(false);
    });

    test("while its initdb still runs: initdb is stopped, and the cluster and the data root it made are removed at its exit", () => {
        preparerProcess("preparing");
        expect(processesMentioning(root)).toEqual([]);
        expect(fs.existsSync(path.join(root, "data"))).toBe(false);
    });
});
