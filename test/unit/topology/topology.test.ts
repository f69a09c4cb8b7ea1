// The topology model on its own: a validated configuration resolved once into members, roles,
// placements and the shipping plan. Pure: no Pulumi, no file system.
import { parseStageConfig, StageConfig } from "../../../components/config/config";
import { HostPaths, membersOf, resolveStage } from "../../../components/topology/topology";
import { peersOnOtherSubnets } from "../../../components/topology/hostPaths";
import { hbaText } from "../../../components/postgres/cluster";

const PATHS: HostPaths = { binDir: "/usr/lib/postgresql/15/bin", dataRoot: "/srv/prod", osUser: "postgres" };

function configOf(values: Record<string, unknown>): StageConfig {
    const raw = Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined).map(([k, v]) => [`stagewise:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
    const result = parseStageConfig(raw, new Set(["stagewise:superuserPassword", "stagewise:applicationPassword", "stagewise:hosts"]));
    if (!result.ok) {
        throw new Error(result.problems.join("\n"));
    }
    return result.config;
}

const production = {
    stage: "production",
    servers: { "prod-db": { port: 55432, settings: { work_mem: "8MB" } } },
    standbys: {
        "prod-hot": { tier: "hot", port: 55433, synchronous: true },
        "prod-hot2": { tier: "hot", port: 55434 },
        "prod-warm": { tier: "warm", port: 55435 },
        "prod-cold": { tier: "cold" },
    },
    rpo: "15m",
    shipping: { logBackupInterval: "5m", shipInterval: "5m" },
};

test("every member once, in the configuration's order, with its tier, address, folder and settings", () => {
    const topology = resolveStage(configOf(production), "prod", PATHS);
    expect(Object.keys(topology.members)).toEqual(["prod-db", "prod-hot", "prod-hot2", "prod-warm", "prod-cold"]);
    expect(topology.members["prod-db"]).toEqual({
        name: "prod-db",
        tier: "server",
        host: "127.0.0.1",
        binDir: "/usr/lib/postgresql/15/bin",
        osUser: "postgres",
        port: 55432,
        serverDir: "/srv/prod/prod-db",
        settings: { work_mem: "8MB" },
        synchronous: false,
        databases: ["work", "business", "config"],
        retain: false,
    });
    expect(topology.members["prod-hot"]).toMatchObject({ tier: "hot", port: 55433, serverDir: "/srv/prod/prod-hot", synchronous: true, databases: [] });
    expect(topology.members["prod-cold"]).toMatchObject({ tier: "cold", port: undefined, serverDir: "/srv/prod/prod-cold" });
    expect(membersOf(topology, "hot").map((m) => m.name)).toEqual(["prod-hot", "prod-hot2"]);
    expect(topology.protect).toBe(true);
});

test("the declared primary: the server by default; the synchronous standbys are what it waits for", () => {
    const topology = resolveStage(configOf(production), "prod", PATHS);
    expect(topology.primary).toBe("prod-db");
    expect(topology.synchronous).toEqual(["prod-hot"]);
    expect(topology.failoverOrder.map((m) => m.name)).toEqual(["prod-db", "prod-hot", "prod-hot2"]);
    expect(topology.roles).toEqual({ "prod-db": { role: "primary" } });
    expect(topology.placements.work).toEqual({ server: "prod-db", name: "work", host: "127.0.0.1", port: 55432 });
});

test("`primary` naming a standby: the server follows it, the databases are written there, it comes first for clients", () => {
    const topology = resolveStage(configOf({ ...production, primary: "prod-hot" }), "prod", PATHS);
    expect(topology.primary).toBe("prod-hot");
    expect(topology.synchronous).toEqual([]); // the synchronous standby is the primary now
    expect(topology.roles["prod-db"]).toEqual({ role: "standby", upstream: { host: "127.0.0.1", port: 55433 } });
    expect(topology.placements.config).toEqual({ server: "prod-db", name: "config", host: "127.0.0.1", port: 55433 });
    expect(topology.failoverOrder.map((m) => m.name)).toEqual(["prod-hot", "prod-db", "prod-hot2"]);
});

test("the shipping plan is worked out here, with production's archive and its archiving settings", () => {
    const topology = resolveStage(configOf(production), "prod", PATHS);
    expect(topology.shipping?.archive).toBe("/srv/prod/wal-archive");
    expect(topology.shipping?.plan).toMatchObject({ rpoMs: 15 * 60_000, logBackupIntervalMs: 5 * 60_000, shipIntervalMs: 5 * 60_000, worstCaseLossMs: 10 * 60_000 });
    expect(topology.shipping?.archiving).toMatchObject({ archive_mode: "on", archive_timeout: "300s" });
    expect(resolveStage(configOf({ ...production, shipping: undefined, standbys: {} }), "prod", PATHS).shipping).toBeUndefined();
});

test("a staging stage is not protected and ships nothing; on docker no member has a folder", () => {
    const staging = configOf({ stage: "test", servers: { "test-db": { port: 55452 } } });
    expect(resolveStage(staging, "test", PATHS)).toMatchObject({ kind: "test", protect: false, shipping: undefined, primary: "test-db" });
    const docker = configOf({
        stage: "test",
        servers: { "test-db": { port: 55452 } },
        platform: { kind: "docker", image: "postgres:15" },
        superuserPassword: "su",
        applicationPassword: "app",
    });
    const topology = resolveStage(docker, "test", { binDir: PATHS.binDir, dataRoot: undefined, osUser: undefined });
    expect(topology.members["test-db"].serverDir).toBeUndefined();
    expect(topology.platform).toEqual({ kind: "docker", image: "postgres:15" });
});

test("members on hosts: their machine's address, programs, user and folder; every rule reads the address", () => {
    const machine = { name: "a", address: "127.77.1.2", port: 22, user: "root", privateKey: "k", hostKey: "ssh-ed25519 AAAA" };
    const machineB = { ...machine, name: "b", address: "127.77.1.3" };
    const hosts = {
        a: { machine, binDir: "/opt/pg/bin", dataRoot: "/data/sw", osUser: "pgsrv", postgresVersion: "postgres (PostgreSQL) 15.18" },
        b: { machine: machineB, binDir: "/usr/lib/postgresql/15/bin", dataRoot: "/srv/b", osUser: "postgres", postgresVersion: "postgres (PostgreSQL) 15.18" },
    };
    const declared = { address: "127.77.1.2", user: "root", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0Xz4oY5dGv1r5l2cJt7mJb2m4b0rYV1c6x0nKp8n0Q" };
    const config = configOf({
        ...production,
        hosts: { a: declared, b: { ...declared, address: "127.77.1.3" } },
        servers: { "prod-db": { port: 55432, host: "a" } },
        standbys: { "prod-hot": { tier: "hot", port: 55433, synchronous: true, host: "b" } },
        shipping: undefined,
    });
    const topology = resolveStage(config, "prod", { ...PATHS, hosts });
    expect(topology.members["prod-db"]).toMatchObject({ host: "127.77.1.2", machine, binDir: "/opt/pg/bin", osUser: "pgsrv", serverDir: "/data/sw/prod-db" });
    expect(topology.members["prod-hot"]).toMatchObject({ host: "127.77.1.3", machine: machineB, binDir: "/usr/lib/postgresql/15/bin", osUser: "postgres", serverDir: "/srv/b/prod-hot" });
    expect(topology.placements.work).toMatchObject({ server: "prod-db", host: "127.77.1.2", port: 55432 });
    expect(topology.failoverOrder.map((m) => `${m.host}:${m.port}`)).toEqual(["127.77.1.2:55432", "127.77.1.3:55433"]);

    // With shipping, the archive is the primary's own: on its host, and its archive_command writes there.
    const shipping = resolveStage(configOf({ ...config, shipping: { logBackupInterval: "5m", shipInterval: "5m", applyDelay: "0s" }, standbys: {} }), "prod", { ...PATHS, hosts });
    expect(shipping.shipping?.archive).toBe("/data/sw/wal-archive");
    expect(shipping.shipping?.archiving.archive_command).toContain("/data/sw/wal-archive/%f");
    expect(shipping.shipping?.archiving.archive_mode).toBe("on"); // one member, one archive
    expect(shipping.shipping?.archiveSources).toBeUndefined();

    // A group on two machines: each member archives on its host, and shippers read the one that accepts writes.
    const shipped = { ...config, shipping: { logBackupInterval: "5m", shipInterval: "5m", applyDelay: "0s" } };
    const spread = resolveStage(configOf(shipped), "prod", { ...PATHS, hosts });
    expect(spread.shipping?.archiving.archive_mode).toBe("always");
    expect(spread.shipping?.archiveSources).toEqual([{ host: "127.77.1.2", port: 55432 }, { host: "127.77.1.3", port: 55433 }]);
    // After a failover away from a lost host: the declared primary first, the lost host left out.
    const lostA = { ...hosts, a: { ...hosts.a, machine: { ...machine, lost: true as const } } };
    const failedOver = resolveStage(configOf({ ...shipped, primary: "prod-hot" }), "prod", { ...PATHS, hosts: lostA });
    expect(failedOver.shipping?.archiveSources).toEqual([{ host: "127.77.1.3", port: 55433 }]);
    const declaredB = resolveStage(configOf({ ...shipped, primary: "prod-hot" }), "prod", { ...PATHS, hosts });
    expect(declaredB.shipping?.archiveSources).toEqual([{ host: "127.77.1.3", port: 55433 }, { host: "127.77.1.2", port: 55432 }]);
});

test("a host admits the stage's other hosts that are not on its subnet, by address only", () => {
    const host = (address: string) => ({ address, port: 22, user: "root", privateKey: "k", hostKey: "h" });
    const hosts = { a: host("10.0.1.2"), b: host("10.0.1.3"), c: host("10.0.2.2"), d: host("10.0.2.3"), n: host("db.example.com") };
    expect(peersOnOtherSubnets("a", ["a", "b", "c", "d", "n"], hosts)).toEqual(["10.0.2.2", "10.0.2.3"]);
    expect(peersOnOtherSubnets("c", ["a", "b", "c", "d", "n"], hosts)).toEqual(["10.0.1.2", "10.0.1.3"]);
    expect(peersOnOtherSubnets("a", ["a", "b"], hosts)).toEqual([]);
    expect(peersOnOtherSubnets("n", ["a", "n"], hosts)).toEqual([]); // a DNS name is admitted by hosts.n.admit
});

test("pg_hba.conf: loopback here; on a host its subnets and each admitted network, an address as one host", () => {
    const machine = { name: "a", address: "10.0.1.2", port: 22, user: "root", privateKey: "k", hostKey: "h" };
    expect(hbaText({})).not.toContain("samenet");
    expect(hbaText({ machine })).toContain("host    replication  all  samenet        scram-sha-256");
    expect(hbaText({ machine })).not.toContain("Beyond");
    const admitted = hbaText({ machine: { ...machine, admit: ["10.0.2.0/24", "10.0.3.7", "fd00::7"] } }).split("\n").filter((l) => /^host .* (10\.0\.[23]|fd00)/.test(l));
    expect(admitted).toEqual([
        "host    all          all  10.0.2.0/24  scram-sha-256",
        "host    replication  all  10.0.2.0/24  scram-sha-256",
        "host    all          all  10.0.3.7/32  scram-sha-256",
        "host    replication  all  10.0.3.7/32  scram-sha-256",
        "host    all          all  fd00::7/128  scram-sha-256",
        "host    replication  all  fd00::7/128  scram-sha-256",
    ]);
});
