// Each cross-field rule on its own (components/config/crossChecks.ts): a configuration that breaks
// exactly that rule, and the problems it returns, with their paths. Every rule has a case here.
import { stageConfigSchema } from "../../../components/config/config";
import { CROSS_CHECKS } from "../../../components/config/crossChecks";

const HOST_A = { address: "127.77.1.2", user: "root", privateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE0Xz4oY5dGv1r5l2cJt7mJb2m4b0rYV1c6x0nKp8n0Q" };
const HOST_B = { ...HOST_A, address: "127.77.1.3" };
const prodDb = { "prod-db": { port: 15432 } };
const base = { stage: "production", servers: prodDb };
const dr = { ...base, licenseKey: "k", disasterRecovery: { of: "organization/stagewise/prod", tier: "warm" } };
const context = { stack: { organization: "organization", project: "stagewise", stack: "dr" }, now: new Date("2026-12-01T00:00:00Z") };

const CASES: [string, Record<string, unknown>, { path: (string | number)[]; message: string }[]][] = [
    ["each server has its own port", { ...base, servers: { a: { port: 15432, databases: ["work", "business", "config"] }, b: { port: 15432, databases: [] } } }, [
        { path: ["servers", "b", "port"], message: "15432 is already the port of servers.a (give each server its own port)" },
    ]],
    ["each server has its own port", {
        ...base, hosts: { a: HOST_A, b: HOST_B },
        servers: { x: { port: 5432, host: "a", databases: ["work", "business", "config"] }, y: { port: 5432, host: "b", databases: [] }, z: { port: 5432, host: "a", databases: [] } },
    }, [
        // One port on two machines is two ports; twice on one machine, it is refused.
        { path: ["servers", "z", "port"], message: "5432 is already the port of servers.x on host a (give each server its own port)" },
    ]],
    ["each engine database has its own name", { ...base, engine: { databases: { work: "w", business: "w", config: "c" } } }, [
        { path: ["engine", "databases", "business"], message: '"w" is already the name of another engine database (give each its own name)' },
    ]],
    ["a staging stage takes its locks on production", { stage: "test", servers: prodDb, locks: { copy: { reason: "copy" } } }, [
        { path: ["locks"], message: "a staging stage takes its locks on production (set production.stack to the production stack's name)" },
    ]],
    ["a copy is for a staging stage bound to production", { stage: "test", servers: prodDb, copy: { trigger: "1" } }, [
        { path: ["copy"], message: "needs production.stack (the stack to copy from)" },
    ]],
    ["standbys are for production", { stage: "test", servers: prodDb, standbys: { h: { tier: "hot", port: 15433 } } }, [
        { path: ["standbys"], message: "are for production (staging stages are rebuilt by copies)" },
    ]],
    ["standbys follow a stage's only server", { ...base, servers: { a: { port: 15432 }, b: { port: 15434 } }, standbys: { h: { tier: "hot", port: 15433 } } }, [
        { path: ["standbys"], message: "need a production stage with one server (the primary)" },
    ]],
    ["the declared primary is the server or a hot standby", { ...base, primary: "nobody" }, [
        { path: ["primary"], message: '"nobody" is not the server or a hot standby of this stage (use one of: prod-db)' },
    ]],
    ["shipping is production's, and its schedule meets the rpo", { ...base, rpo: "30m", shipping: { logBackupInterval: "20m", shipInterval: "20m" } }, [
        { path: ["shipping"], message: "rpo 30m cannot be met: worst-case data loss = log backup interval + shipping interval = 20m + 20m = 40m > 30m (shorten an interval, or accept more data loss)" },
    ]],
    ["warm standbys need shipping", { ...base, standbys: { w: { tier: "warm", port: 15433 } } }, [
        { path: ["standbys", "w", "tier"], message: '"warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })' },
    ]],
    ["every server and standby has its own port and name", { ...base, standbys: { "prod-db": { tier: "hot", port: 15432 } } }, [
        { path: ["standbys", "prod-db", "port"], message: "15432 is already the port of servers.prod-db (give each server its own port)" },
        { path: ["standbys", "prod-db"], message: "has the name of a server (give the standby its own name)" },
    ]],
    ["every server and standby has its own port and name", {
        ...base, hosts: { a: HOST_A, b: HOST_B }, servers: { "prod-db": { port: 5432, host: "a" } },
        standbys: { "on-b": { tier: "hot", port: 5432, host: "b" }, "on-a": { tier: "hot", port: 5432, host: "a" } },
    }, [
        { path: ["standbys", "on-a", "port"], message: "5432 is already the port of servers.prod-db on host a (give each server its own port)" },
    ]],
    ["an online backup needs every engine database on one server", {
        ...base, servers: { a: { port: 15432, databases: ["work", "config"] }, b: { port: 15434, databases: ["business"] } }, backups: { mode: "online" },
    }, [
        { path: ["backups", "mode"], message: "online needs every engine database on one server (one base backup is then one instant for all); they live on servers.a (work, config) and servers.b (business) (use offline)" },
    ]],
    ["a restore needs backups", { ...base, restore: { backup: "20261122T101500123Z" } }, [{ path: ["restore"], message: "needs backups (declare backups to restore from)" }]],
    ["engine.primary names one of the units", { ...base, engine: { units: { a: {} } } }, [
        { path: ["engine", "primary"], message: "missing (name the unit that acts: one of a)" },
    ]],
    ["the docker platform builds servers only, with given passwords", { ...base, platform: { kind: "docker", image: "postgres:15" }, superuserPassword: "s", applicationPassword: "a", backups: {} }, [
        { path: ["backups"], message: "is not available on the docker platform yet (use platform.kind: local)" },
    ]],
    ["a copy lands on a stage's only server", {
        stage: "test", production: { stack: "organization/stagewise/prod" }, copy: { trigger: "1" },
        servers: { a: { port: 15442, databases: ["work", "business", "config"] }, b: { port: 15443, databases: [] } },
    }, [{ path: ["copy"], message: "needs a stage with one server (it receives all engine databases)" }]],
    ["promotion is production's", { stage: "test", servers: prodDb, promotion: { from: "organization/stagewise/test" } }, [
        { path: ["promotion"], message: "is for production (staging stages apply what is declared)" },
    ]],
    ["production binds to no other stage", { ...base, production: { stack: "organization/stagewise/prod" } }, [
        { path: ["production"], message: "is for staging stages (production binds to no other stage)" },
    ]],
    ["each engine database lives on exactly one server", { ...base, servers: { a: { port: 15432, databases: ["work", "business"] }, b: { port: 15434, databases: ["business"] } } }, [
        { path: ["servers"], message: "the business database is listed on servers.a and servers.b (list it on one server)" },
        { path: ["servers"], message: "no server holds the config database (list it in one server's databases)" },
    ]],
    ["something in production can meet an rpo of zero", { ...base, rpo: "0s" }, [
        {
            path: ["rpo"],
            message:
                '"0s" cannot be met by this stage: only a synchronous standby loses no committed transaction ' +
                "(add a hot standby with synchronous: true, or accept some data loss and ship WAL often enough: shipping's logBackupInterval + shipInterval <= rpo)",
        },
    ]],
    ["cold standbys need shipping", { ...base, standbys: { c: { tier: "cold" } } }, [
        { path: ["standbys", "c", "tier"], message: '"cold" standbys recover from archived WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })' },
    ]],
    ["a DR site is a one-server production site of another stack, with its own licence", { ...dr, licenseKey: undefined, stage: "test" }, [
        { path: ["disasterRecovery"], message: "needs stage: production (the DR site takes over production's role at cutover)" },
        { path: ["licenseKey"], message: "a DR site needs its own licence key, re-applied at cutover (set it with: pulumi config set --secret licenseKey <key>)" },
    ]],
    ["a cutover names exactly one instant that has passed, on a DR site", { ...dr, cutover: { latest: true, targetName: "x", margin: "1h" } }, [
        { path: ["cutover"], message: "names targetName and latest (use exactly one of: targetTime, targetName, latest: true, disasterTime)" },
        { path: ["cutover", "margin"], message: "goes with disasterTime (the runbook's time of the disaster minus a margin)" },
    ]],
    ["a member's host is one of hosts", { ...base, hosts: { a: HOST_A }, servers: { "prod-db": { port: 15432, host: "b" } }, standbys: { h: { tier: "hot", port: 15433, host: "a" } } }, [
        { path: ["servers", "prod-db", "host"], message: '"b" is not one of hosts (declared: a; declare it as hosts.b with address, user, privateKey and hostKey)' },
    ]],
    ["a replication group is on hosts or on this machine, not both", { ...base, hosts: { a: HOST_A }, servers: { "prod-db": { port: 15432, host: "a" } }, standbys: { h: { tier: "hot", port: 15433 } } }, [
        { path: ["standbys", "h", "host"], message: "is on this machine while servers.prod-db is on host a: members on hosts cannot reach a loopback address (put this standby on a host too)" },
    ]],
    ["members on hosts are servers and standbys, with copies, backups, shipping, promotion and DR sites (for now)", {
        ...base, hosts: { a: HOST_A }, servers: { "prod-db": { port: 15432, host: "a" } }, shipping: {},
        standbys: { w: { tier: "warm", port: 15434, host: "a" }, here: { tier: "warm", port: 15435 }, c: { tier: "cold" } },
    }, [
        { path: ["standbys", "here", "host"], message: "a warm standby of a server on another host is kept on a host too (name one of hosts)" },
        { path: ["standbys", "c", "host"], message: "a cold standby of a server on another host is kept on a host too (name one of hosts)" },
    ]],
    ["members on hosts are servers and standbys, with copies, backups, shipping, promotion and DR sites (for now)", {
        ...base, hosts: { a: HOST_A }, servers: { "prod-db": { port: 15432 } }, shipping: {}, standbys: { w: { tier: "warm", port: 15434, host: "a" } },
    }, [{ path: ["standbys", "w", "host"], message: "names a host while the server is on this machine's loopback, which no other machine reaches (put the server on a host too, or keep this standby here)" }]],
    ["members on hosts are servers and standbys, with copies, backups, shipping, promotion and DR sites (for now)", {
        stage: "development", hosts: { a: HOST_A }, backups: { interval: "1d", keep: 2 },
        servers: { "dev-db": { port: 15432, host: "a", databases: ["work"] }, "dev-config": { port: 15433, databases: ["business", "config"] } },
    }, [{ path: ["backups"], message: "with servers on several machines (a, this machine): not available yet (keep the stage's servers on one host for backups)" }]],
    ["the declared primary is not on a host declared lost", { ...base, hosts: { a: { ...HOST_A, lost: true }, b: HOST_B }, servers: { "prod-db": { port: 15432, host: "a" } }, standbys: { h: { tier: "hot", port: 15433, host: "b" } } }, [
        { path: ["hosts", "a", "lost"], message: "prod-db is the primary and its host a is declared lost: declare another member the primary to fail over (e.g. pulumi config set primary h)" },
    ]],
];

test.each(CASES)("%s", (name, values, problems) => {
    const rule = CROSS_CHECKS.find((r) => r.name === name)!;
    const config = stageConfigSchema.parse(values);
    expect(rule.check(config, context)).toEqual(problems);
});

test("every rule has its case, and a valid production passes them all", () => {
    expect(CROSS_CHECKS.map((r) => r.name).filter((n) => !CASES.some(([c]) => c === n))).toEqual([]);
    const valid = stageConfigSchema.parse(base);
    expect(CROSS_CHECKS.flatMap((r) => r.check(valid, context))).toEqual([]);
});
