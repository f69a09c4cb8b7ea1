import { formatProblems, parseStageConfig } from "../../../components/config/config";

const servers = (value: unknown) => JSON.stringify(value);
const valid = { "stagewise:stage": "development", "stagewise:servers": servers({ main: { port: 55432 } }) };
const PORT_RULE = "use a whole number from 1024 to 65535";

describe("parseStageConfig", () => {
    test("accepts a minimal stage and fills every default", () => {
        expect(parseStageConfig(valid, new Set())).toEqual({
            ok: true,
            config: {
                stage: "development",
                platform: { kind: "local" },
                hosts: {},
                servers: { main: { port: 55432, host: "127.0.0.1", settings: {}, retain: false } },
                engine: {
                    databases: { work: "work", business: "business", config: "config" },
                    owner: "engine",
                    schema: "reference",
                    tables: { server: "Server.Server", licenseKey: "HostServer.LicenseKey" },
                    units: {},
                    stepMs: 100,
                    takeoverMs: 2000,
                },
                rpo: "4h",
                adminObjects: "admin/objects.json",
                standbys: {},
                locks: {},
            },
        });
    });

    test("accepts production shipping with a warm standby, filling the runbook's intervals", () => {
        const result = parseStageConfig(
            {
                ...valid,
                "stagewise:stage": "production",
                "stagewise:shipping": JSON.stringify({ shipInterval: "30m" }),
                "stagewise:standbys": JSON.stringify({ dr: { tier: "warm", port: 55433, applyDelay: "0s" } }),
            },
            new Set(),
        );
        expect(result.ok && [result.config.shipping, result.config.standbys]).toEqual([
            { logBackupInterval: "1h", shipInterval: "30m", applyDelay: "3h" },
            { dr: { tier: "warm", port: 55433, host: "127.0.0.1", settings: {}, applyDelay: "0s" } },
        ]);
    });

    test("ignores keys of other namespaces and accepts secrets given as secrets", () => {
        const result = parseStageConfig(
            { ...valid, "pulumi:tags": "{}", "command:foo": "x", "stagewise:superuserPassword": "s3cret" },
            new Set(["stagewise:superuserPassword"]),
        );
        expect(result.ok && result.config.superuserPassword).toBe("s3cret");
    });

    test.each<[string, Record<string, string>, string[]]>([
        ["stage missing", { "stagewise:servers": valid["stagewise:servers"] }, [
            "stage: missing (use one of: production, development, test)",
        ]],
        ["wrong stage kind", { ...valid, "stagewise:stage": "staging" }, [
            'stage: "staging" is not a stage kind (use one of: production, development, test)',
        ]],
        ["unknown top-level key", { ...valid, "stagewise:prot": "1" }, [
            "prot: unknown key (allowed: stage, platform, hosts, servers, engine, rpo, shipping, production, identity, standbys, primary, copy, promotion, backups, restore, adminObjects, locks, superuserPassword, applicationPassword, licenseKey, disasterRecovery, cutover)",
        ]],
        ["unknown key in a server", { ...valid, "stagewise:servers": servers({ main: { port: 55432, prot: 1 } }) }, [
            "servers.main.prot: unknown key (allowed: port, host, settings, retain, databases)",
        ]],
        ["port out of range", { ...valid, "stagewise:servers": servers({ main: { port: 70000 } }) }, [
            `servers.main.port: 70000 is not a port (${PORT_RULE})`,
        ]],
        ["port not a number", { ...valid, "stagewise:servers": servers({ main: { port: "abc" } }) }, [
            `servers.main.port: "abc" is not a port (${PORT_RULE})`,
        ]],
        ["port not whole", { ...valid, "stagewise:servers": servers({ main: { port: 5432.5 } }) }, [
            `servers.main.port: 5432.5 is not a port (${PORT_RULE})`,
        ]],
        ["port missing", { ...valid, "stagewise:servers": servers({ main: {} }) }, [
            `servers.main.port: missing (${PORT_RULE})`,
        ]],
        ["malformed duration", { ...valid, "stagewise:rpo": "90x" }, [
            'rpo: "90x" is not a duration (use e.g. "15m", "4h", "1h30m")',
        ]],
        ["no servers", { ...valid, "stagewise:servers": "{}" }, ["servers: is empty (declare at least one server)"]],
        ["servers missing", { "stagewise:stage": "test" }, [
            "servers: missing (use a map from server name to { port, settings })",
        ]],
        ["bad server name", { ...valid, "stagewise:servers": servers({ "Main DB": { port: 55432 } }) }, [
            "servers.Main DB: is not a server name (use lower-case letters, digits and -, starting with a letter)",
        ]],
        ["password in plain text", { ...valid, "stagewise:superuserPassword": "hunter2" }, [
            "superuserPassword: is given in plain text but must be a secret (set it with: pulumi config set --secret superuserPassword <value>)",
        ]],
        ["unknown platform", { ...valid, "stagewise:platform": JSON.stringify({ kind: "kubernetes" }) }, [
            'platform.kind: "kubernetes" is not a platform (use one of: local, docker)',
        ]],
        ["an online backup across two servers", {
            ...valid,
            "stagewise:servers": servers({ a: { port: 55432, databases: ["work"] }, b: { port: 55433, databases: ["business", "config"] } }),
            "stagewise:backups": JSON.stringify({ mode: "online" }),
        }, [
            "backups.mode: online needs every engine database on one server (one base backup is then one instant for all); they live on servers.a (work) and servers.b (business, config) (use offline)",
        ]],
        ["a restore without backups", { ...valid, "stagewise:restore": JSON.stringify({ backup: "20261122T000000000Z" }) }, [
            "restore: needs backups (declare backups to restore from)",
        ]],
        ["engine units without a primary", { ...valid, "stagewise:engine": JSON.stringify({ units: { "unit-a": {}, "unit-b": {} } }) }, [
            "engine.primary: missing (name the unit that acts: one of unit-a, unit-b)",
        ]],
        ["an engine primary that is not a unit", { ...valid, "stagewise:engine": JSON.stringify({ units: { "unit-a": {} }, primary: "unit-c" }) }, [
            'engine.primary: "unit-c" is not one of engine.units (unit-a)',
        ]],
        ["an engine step that is not whole milliseconds", { ...valid, "stagewise:engine": JSON.stringify({ units: { "unit-a": {} }, primary: "unit-a", stepMs: "fast" }) }, [
            'engine.stepMs: "fast" is not milliseconds (use a whole number from 0 to 60000)',
        ]],
        ["docker platform without image", { ...valid, "stagewise:platform": JSON.stringify({ kind: "docker" }) }, [
            'platform.image: missing (use e.g. "postgres:15")',
        ]],
        ["docker platform without the passwords it cannot generate", { ...valid, "stagewise:platform": JSON.stringify({ kind: "docker", image: "postgres:15" }) }, [
            "superuserPassword: is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret superuserPassword <value>)",
            "applicationPassword: is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret applicationPassword <value>)",
        ]],
        ["docker platform with a copy", {
            ...valid,
            "stagewise:platform": JSON.stringify({ kind: "docker", image: "postgres:15" }),
            "stagewise:production": JSON.stringify({ stack: "organization/stagewise/prod" }),
            "stagewise:copy": JSON.stringify({ trigger: "1" }),
        }, [
            "copy: is not available on the docker platform yet (use platform.kind: local)",
            "superuserPassword: is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret superuserPassword <value>)",
            "applicationPassword: is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret applicationPassword <value>)",
        ]],
        ["two servers on one port", {
            ...valid,
            "stagewise:servers": servers({ a: { port: 55432, databases: ["work", "business", "config"] }, b: { port: 55432, databases: [] } }),
        }, [
            "servers.b.port: 55432 is already the port of servers.a (give each server its own port)",
        ]],
        ["setting that is a map", { ...valid, "stagewise:servers": servers({ main: { port: 55432, settings: { work_mem: { a: 1 } } } }) }, [
            'servers.main.settings.work_mem: {"a":1} is not a setting value (use a string, number or true/false)',
        ]],
        ["host off loopback", { ...valid, "stagewise:servers": servers({ main: { port: 55432, host: "10.0.0.5" } }) }, [
            'servers.main.host: "10.0.0.5" is neither a loopback address of this machine (127.0.0.1, localhost or ::1) nor the name of one of hosts (declare the machine as hosts.<name> with its address, and write that name here)',
        ]],
        ["structured value that is not JSON", { ...valid, "stagewise:servers": "{main: [" }, [
            "servers: is not a valid map or list (check the YAML in the stack's config file)",
        ]],
        ["bad and repeated database names", {
            ...valid,
            "stagewise:engine": JSON.stringify({ databases: { work: "work", business: "Work-DB", config: "work" } }),
        }, [
            'engine.databases.business: "Work-DB" is not a database name (use lower-case letters, digits and _, starting with a letter)',
        ]],
        ["two engine databases with one name", {
            ...valid,
            "stagewise:engine": JSON.stringify({ databases: { work: "engine", business: "business", config: "engine" } }),
        }, [
            'engine.databases.config: "engine" is already the name of another engine database (give each its own name)',
        ]],
        ["a table name without its schema", { ...valid, "stagewise:engine": JSON.stringify({ tables: { licenseKey: "LicenseKey" } }) }, [
            'engine.tables.licenseKey: "LicenseKey" is not a schema-qualified table name (use "Schema.Table", e.g. "HostServer.LicenseKey")',
        ]],
        ["two servers without database placement", { ...valid, "stagewise:servers": servers({ a: { port: 55432 }, b: { port: 55433, databases: ["work", "files"] } }) }, [
            'servers.b.databases[1]: "files" is not a database role (use one of: work, business, config)',
        ]],
        ["two servers that leave a database out and list one twice", {
            ...valid,
            "stagewise:servers": servers({ a: { port: 55432, databases: ["work", "business"] }, b: { port: 55433, databases: ["work"] } }),
        }, [
            "servers: the work database is listed on servers.a and servers.b (list it on one server)",
            "servers: no server holds the config database (list it in one server's databases)",
        ]],
        ["production reference without a stack", { ...valid, "stagewise:production": "{}" }, [
            'production.stack: missing (use e.g. "organization/stagewise/prod")',
        ]],
        ["empty data root", { ...valid, "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: "" }) }, [
            "platform.dataRoot: is empty (use a path)",
        ]],
        ["retain that is not a boolean", { ...valid, "stagewise:servers": servers({ main: { port: 55432, retain: "yes" } }) }, [
            'servers.main.retain: "yes" is not true or false (use true or false)',
        ]],
        ["a lock with a bad scope and no reason", { ...valid, "stagewise:locks": JSON.stringify({ "Copy Lock": { reason: "x" }, copy: { waitSeconds: -1 } }) }, [
            "locks.Copy Lock: is not a lock scope (use lower-case letters, digits, _ and -, starting with a letter)",
            "locks.copy.reason: missing (say why the lock is held)",
            "locks.copy.waitSeconds: -1 is not a number of seconds (use a whole number from 0 to 3600)",
        ]],
        ["staging locks without a production stack", { ...valid, "stagewise:locks": JSON.stringify({ copy: { reason: "copy" } }) }, [
            "locks: a staging stage takes its locks on production (set production.stack to the production stack's name)",
        ]],
        ["a copy without a production stack", { ...valid, "stagewise:copy": JSON.stringify({ trigger: "1" }) }, [
            "copy: needs production.stack (the stack to copy from)",
        ]],
        ["a copy with an empty trigger", { ...valid, "stagewise:copy": JSON.stringify({ trigger: "" }) }, [
            "copy.trigger: is empty (use any text, e.g. a date)",
        ]],
        ["a cold standby with a port (it has no server) and an unknown tier", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:shipping": "{}",
            "stagewise:standbys": JSON.stringify({ dr: { tier: "cold", port: 55433 }, x: { tier: "lukewarm", port: 55434 } }),
        }, [
            "standbys.dr.port: unknown key (allowed: tier, host, baseBackupInterval, keepBaseBackups)",
            'standbys.x.tier: "lukewarm" is not a standby tier (use one of: cold, warm, hot)',
        ]],
        ["a cold standby without shipping", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:standbys": JSON.stringify({ vault: { tier: "cold" } }),
        }, [
            'standbys.vault.tier: "cold" standbys recover from archived WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })',
        ]],
        ["a cold standby keeping no backups, on a malformed interval", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:shipping": "{}",
            "stagewise:standbys": JSON.stringify({ vault: { tier: "cold", baseBackupInterval: "daily", keepBaseBackups: 0 } }),
        }, [
            'standbys.vault.baseBackupInterval: "daily" is not a duration (use e.g. "15m", "4h", "1h30m")',
            "standbys.vault.keepBaseBackups: 0 is not a count (use a whole number from 1 to 100)",
        ]],
        ["a DR site on a staging stage, with two servers, shipping and no licence key", {
            "stagewise:stage": "test",
            "stagewise:servers": servers({ a: { port: 55432, databases: ["work", "business", "config"] }, b: { port: 55433, databases: [] } }),
            "stagewise:shipping": "{}",
            "stagewise:disasterRecovery": JSON.stringify({ of: "organization/stagewise/prod", tier: "cold" }),
        }, [
            "shipping: is for production (the stage whose WAL is shipped)",
            "disasterRecovery: needs stage: production (the DR site takes over production's role at cutover)",
            "servers: a DR site has one server, named like production's (it receives all engine databases)",
            "shipping: is not for a DR site (its data comes from production's base backups and shipped WAL)",
            "licenseKey: a DR site needs its own licence key, re-applied at cutover (set it with: pulumi config set --secret licenseKey <key>)",
        ]],
        ["a DR site of an unknown tier, of no stack", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:disasterRecovery": JSON.stringify({ of: "", tier: "hot", applyDelay: "3 hours" }),
        }, [
            'disasterRecovery.of: is empty (use e.g. "organization/stagewise/prod")',
            'disasterRecovery.tier: "hot" is not a DR tier (use warm or cold)',
            'disasterRecovery.applyDelay: "3 hours" is not a duration (use e.g. "15m", "4h", "1h30m")',
        ]],
        ["a cutover outside a DR site, naming two targets", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:cutover": JSON.stringify({ targetTime: "2026-11-22T13:35:00Z", latest: true }),
        }, [
            "cutover: is for a DR site (set disasterRecovery.of to the production stack)",
            "cutover: names targetTime and latest (use exactly one of: targetTime, targetName, latest: true, disasterTime)",
        ]],
        ["a cutover with no target, a margin alone, and instants without zones", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:disasterRecovery": JSON.stringify({ of: "organization/stagewise/prod", tier: "warm" }),
            "stagewise:cutover": JSON.stringify({ margin: "2h" }),
        }, [
            "licenseKey: a DR site needs its own licence key, re-applied at cutover (set it with: pulumi config set --secret licenseKey <key>)",
            "cutover: names no target (use exactly one of: targetTime, targetName, latest: true, disasterTime)",
            "cutover.margin: goes with disasterTime (the runbook's time of the disaster minus a margin)",
        ]],
        ["a cutover instant without a zone, and latest: false", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:cutover": JSON.stringify({ targetTime: "2026-11-22 13:35", latest: false }),
        }, [
            'cutover.targetTime: "2026-11-22 13:35" is not an instant (use ISO 8601 with a zone, e.g. "2026-11-22T13:35:00Z")',
            "cutover.latest: false is not true (use true, or leave latest out)",
        ]],
        ["a warm standby without shipping", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:standbys": JSON.stringify({ dr: { tier: "warm", port: 55433 } }),
        }, [
            'standbys.dr.tier: "warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })',
        ]],
        ["a shipping schedule that cannot meet the RPO", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:rpo": "4h",
            "stagewise:shipping": JSON.stringify({ logBackupInterval: "3h", shipInterval: "2h" }),
        }, [
            "shipping: rpo 4h cannot be met: worst-case data loss = log backup interval + shipping interval = 3h + 2h = 5h > 4h (shorten an interval, or accept more data loss)",
        ]],
        ["an unknown shipping key", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:shipping": JSON.stringify({ logBackupInterval: "1s", shipInterval: "500ms", every: "1h" }),
        }, [
            "shipping.every: unknown key (allowed: logBackupInterval, shipInterval, applyDelay)",
        ]],
        ["shipping on a staging stage, intervals below their floors", {
            ...valid,
            "stagewise:shipping": JSON.stringify({ logBackupInterval: "1s", shipInterval: "500ms" }),
        }, [
            "shipping: is for production (the stage whose WAL is shipped)",
            "shipping.logBackupInterval: 1s is below 5s (each log backup archives a whole 16 MB WAL segment)",
            "shipping.shipInterval: 500ms is below 1s (the shipper wakes at most once a second)",
        ]],
        ["a warm standby with a malformed apply delay", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:shipping": "{}",
            "stagewise:standbys": JSON.stringify({ dr: { tier: "warm", port: 55433, applyDelay: "soon" } }),
        }, [
            'standbys.dr.applyDelay: "soon" is not a duration (use e.g. "15m", "4h", "1h30m")',
        ]],
        ["a standby on a staging stage, on a server's port", {
            ...valid,
            "stagewise:standbys": JSON.stringify({ hot: { tier: "hot", port: 55432 } }),
        }, [
            "standbys: are for production (staging stages are rebuilt by copies)",
            "standbys.hot.port: 55432 is already the port of servers.main (give each server its own port)",
        ]],
        ["a declared primary that is no member", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:standbys": JSON.stringify({ "main-hot": { tier: "hot", port: 55433 } }),
            "stagewise:primary": "main-hotx",
        }, [
            'primary: "main-hotx" is not the server or a hot standby of this stage (use one of: main, main-hot)',
        ]],
        ["a warm standby declared primary", {
            ...valid,
            "stagewise:stage": "production",
            "stagewise:shipping": "{}",
            "stagewise:standbys": JSON.stringify({ dr: { tier: "warm", port: 55433 }, "main-hot": { tier: "hot", port: 55434 } }),
            "stagewise:primary": "dr",
        }, [
            'primary: "dr" is a warm standby (only the server or a hot standby can be the primary: main, main-hot)',
        ]],
        ["a declared primary on a staging stage, and synchronous not a boolean", {
            ...valid,
            "stagewise:primary": "main",
            "stagewise:standbys": JSON.stringify({ "main-hot": { tier: "hot", port: 55433, synchronous: "yes" } }),
        }, [
            'standbys.main-hot.synchronous: "yes" is not true or false (use true or false)',
        ]],
        ["a declared primary on a staging stage", { ...valid, "stagewise:primary": "main" }, [
            "primary: is for production (the stage with standbys)",
        ]],
        ["every problem at once", {
            "stagewise:stage": "prod",
            "stagewise:rpo": "4 hours",
            "stagewise:licenseKey": "abc",
            "stagewise:servers": servers({ main: { port: 80 } }),
        }, [
            "licenseKey: is given in plain text but must be a secret (set it with: pulumi config set --secret licenseKey <value>)",
            'stage: "prod" is not a stage kind (use one of: production, development, test)',
            `servers.main.port: 80 is not a port (${PORT_RULE})`,
            'rpo: "4 hours" is not a duration (use e.g. "15m", "4h", "1h30m")',
        ]],
    ])("rejects %s", (_name, raw, problems) => {
        expect(parseStageConfig(raw, new Set())).toEqual({ ok: false, problems });
    });

    test("never echoes a secret's value", () => {
        const result = parseStageConfig({ ...valid, "stagewise:licenseKey": "LIC-123-SECRET" }, new Set());
        expect(JSON.stringify(result)).not.toContain("LIC-123-SECRET");
    });

    test("a secret of the wrong type is reported without its value", () => {
        const result = parseStageConfig({ ...valid, "stagewise:licenseKey": '["LIC-9"]' }, new Set(["stagewise:licenseKey"]));
        expect(result).toEqual({
            ok: false,
            problems: ["licenseKey: is not a text value (set it with: pulumi config set --secret <key> <value>)"],
        });
    });
});

test("formatProblems writes one line a problem under a heading naming the stack's file", () => {
    expect(formatProblems("dev", ["stage: missing", "rpo: bad"])).toBe(
        'Configuration of stack "dev" (Pulumi.dev.yaml, namespace stagewise) has 2 problems:\n  - stage: missing\n  - rpo: bad',
    );
});
