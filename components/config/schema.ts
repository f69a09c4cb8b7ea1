// The stack configuration of one stage, as zod schemas. Every message names the problem in the
// user's own keys; problems.ts adds the path and collects them all.
import { z } from "zod";
import { parseDuration } from "./duration";
import { DATABASE_ROLES } from "../engine/referenceSchema";
import { parseQualifiedName } from "../engine/tables";
import { planLogShipping } from "../standby/schedule";
import { disasterRecoveryProblems } from "./disasterRecovery";

/** How a received value is shown in a message (never used for secrets). */
export function show(value: unknown): string {
    if (value === undefined) {
        return "nothing";
    }
    const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A message for a missing value, or for a received one that is not what is allowed. */
function expect(what: string, allowed: string) {
    return (issue: { input?: unknown }) =>
        issue.input === undefined ? `missing (${allowed})` : `${show(issue.input)} is not ${what} (${allowed})`;
}

/** An object that rejects unknown keys, listing the keys it allows. */
function strictObject<T extends z.core.$ZodLooseShape>(shape: T) {
    const allowed = Object.keys(shape).join(", ");
    return z.strictObject(shape, {
        error: (issue) => {
            if (issue.code === "unrecognized_keys") {
                return `unknown key (allowed: ${allowed})`; // problems.ts writes one line per key
            }
            return expect("an object", `use a map with keys: ${allowed}`)(issue);
        },
    });
}

export const STAGE_KINDS = ["production", "development", "test"] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

const stageKind = z.enum(STAGE_KINDS, { error: expect("a stage kind", `use one of: ${STAGE_KINDS.join(", ")}`) });

export const duration = z
    .string({ error: expect("a duration", 'use e.g. "15m", "4h"') })
    .refine((text) => parseDuration(text) !== undefined, {
        error: (issue) => `${show(issue.input)} is not a duration (use e.g. "15m", "4h", "1h30m")`,
    });

const port = z
    .number({ error: expect("a port", "use a whole number from 1024 to 65535") })
    .refine((n) => Number.isInteger(n) && n >= 1024 && n <= 65535, {
        error: (issue) => `${show(issue.input)} is not a port (use a whole number from 1024 to 65535)`,
    });

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
const identifier = (what: string) =>
    z.string({ error: expect(`a ${what}`, "use lower-case letters, digits and _") }).refine((s) => IDENTIFIER.test(s), {
        error: (issue) => `${show(issue.input)} is not a ${what} (use lower-case letters, digits and _, starting with a letter)`,
    });

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|::1)$/;
const loopbackHost = z
    .string({ error: expect("a host", 'use a loopback address such as "127.0.0.1"') })
    .refine((h) => LOOPBACK.test(h), {
        error: (issue) => `${show(issue.input)} is not a loopback address (the local platform listens on 127.0.0.1, localhost or ::1 only)`,
    });

const settingValue = z.union([z.string(), z.number(), z.boolean()], {
    error: expect("a setting value", "use a string, number or true/false"),
});

const SERVER_NAME = /^[a-z][a-z0-9-]{0,30}$/;

export const serverSchema = strictObject({
    /** Loopback port the server listens on. */
    port,
    /** @default "127.0.0.1" */
    host: loopbackHost.default("127.0.0.1"),
    /** postgresql.conf settings, by name. @default {} */
    settings: z.record(z.string(), settingValue).default({}),
    /** Keep the data directory when the server is deleted. @default false */
    retain: z.boolean({ error: expect("true or false", "use true or false") }).default(false),
    /** Which of the engine's databases this server holds. @default all of them, when the stage has one server */
    databases: z
        .array(z.enum(DATABASE_ROLES, { error: expect("a database role", `use one of: ${DATABASE_ROLES.join(", ")}`) }), {
            error: expect("a list", `use a list of: ${DATABASE_ROLES.join(", ")}`),
        })
        .optional(),
});
export type ServerConfig = z.output<typeof serverSchema>;

const localPlatform = strictObject({
    kind: z.literal("local"),
    /** Folder holding the servers' data directories. @default ".stagewise/<stack>" */
    dataRoot: z.string({ error: expect("a folder", "use a path") }).min(1, { error: "is empty (use a path)" }).optional(),
    /** Folder of the PostgreSQL programs (initdb, pg_ctl, postgres). @default the newest /usr/lib/postgresql/N/bin, or PATH */
    binDir: z.string({ error: expect("a folder", "use a path") }).optional(),
    /** OS user that runs the servers when the deployer is root. @default "postgres" */
    osUser: z.string({ error: expect("a user name", "use an OS user name") }).optional(),
});

const dockerPlatform = strictObject({
    kind: z.literal("docker"),
    /** Image of the PostgreSQL servers. */
    image: z.string({ error: expect("an image", 'use e.g. "postgres:15"') }),
    /** Docker host. @default the local Docker socket */
    host: z.string({ error: expect("a Docker host", 'use e.g. "unix:///var/run/docker.sock"') }).optional(),
    /** Folder of psql on the deploying machine, which loads the reference schema. @default as for the local platform */
    binDir: z.string({ error: expect("a folder", "use a path") }).optional(),
});

const PLATFORM_KINDS = ["local", "docker"];
const platform = z.discriminatedUnion("kind", [localPlatform, dockerPlatform], {
    error: (issue) => {
        if (issue.code === "invalid_union") {
            const kind = (issue.input as { kind?: unknown } | undefined)?.kind;
            return `${show(kind)} is not a platform (use one of: ${PLATFORM_KINDS.join(", ")})`;
        }
        return expect("a platform", `use a map with kind: ${PLATFORM_KINDS.join(" | ")}`)(issue);
    },
});
export type PlatformConfig = z.output<typeof platform>;

const production = strictObject({
    /** Fully qualified name of the production stack, e.g. "organization/stagewise/prod". */
    stack: z.string({ error: expect("a stack name", 'use e.g. "organization/stagewise/prod"') }).min(1),
});

const qualifiedTable = z
    .string({ error: expect("a table name", 'use "Schema.Table", e.g. "HostServer.LicenseKey"') })
    .refine((t) => parseQualifiedName(t) !== undefined, {
        error: (issue) => `${show(issue.input)} is not a schema-qualified table name (use "Schema.Table", e.g. "HostServer.LicenseKey")`,
    });

const engine = strictObject({
    /** Database name of each of the engine's databases, by role. @default { work: "work", business: "business", config: "config" } */
    databases: strictObject({
        work: identifier("database name").default("work"),
        business: identifier("database name").default("business"),
        config: identifier("database name").default("config"),
    }).default({ work: "work", business: "business", config: "config" }),
    /** Role that owns the engine's databases; the engine connects as it. @default "engine" */
    owner: identifier("role name").default("engine"),
    /** Load stagewise's reference schema into the databases ("none" for a real engine's own schema). @default "reference" */
    schema: z.enum(["reference", "none"], { error: expect("a schema choice", "use reference or none") }).default("reference"),
    /** Tables later features act on, in the configuration database. */
    tables: strictObject({
        /** @default "Server.Server" */
        server: qualifiedTable.default("Server.Server"),
        /** @default "HostServer.LicenseKey" */
        licenseKey: qualifiedTable.default("HostServer.LicenseKey"),
    }).default({ server: "Server.Server", licenseKey: "HostServer.LicenseKey" }),
    /** The engine's units (local processes), by stable name; none by default. @default {} */
    units: z
        .record(z.string().regex(SERVER_NAME), strictObject({}), {
            error: (issue) =>
                issue.code === "invalid_key"
                    ? "is not a unit name (use lower-case letters, digits and -, starting with a letter)"
                    : expect("a map of units", "use a map from unit name to {}")(issue),
        })
        .default({}),
    /** The unit that acts; changing it performs Set Primary. Required with units. */
    primary: z.string({ error: expect("a unit name", "use the name of one of engine.units") }).optional(),
    /** Program and arguments of a unit. @default the reference engine (node engine/run.js) */
    command: z.array(z.string(), { error: expect("a command", 'use a list such as ["node", "engine/run.js"]') }).min(1, { error: "is empty (use a program and its arguments)" }).optional(),
    /** Pause between process steps of the reference engine, in milliseconds. @default 100 */
    stepMs: z.number({ error: expect("milliseconds", "use a whole number from 0 to 60000") }).int().min(0).max(60_000).default(100),
    /** Silence after which a backup unit takes over from the primary, in milliseconds. @default 2000 */
    takeoverMs: z.number({ error: expect("milliseconds", "use a whole number from 200 to 600000") }).int().min(200).max(600_000).default(2000),
});
export type EngineConfig = z.output<typeof engine>;

const STANDBY_TIERS = ["cold", "warm", "hot"];

/** A warm standby: a server in continuous recovery from WAL shipped by production's `shipping`. */
const warmStandby = strictObject({
    tier: z.literal("warm"),
    /** Loopback port the standby listens on (read-only queries show how far it has applied). */
    port,
    /** @default "127.0.0.1" */
    host: loopbackHost.default("127.0.0.1"),
    /** postgresql.conf settings of the standby. @default {} */
    settings: z.record(z.string(), settingValue).default({}),
    /** Apply only WAL older than this (recovery_min_apply_delay; "0s" for none). @default shipping.applyDelay */
    applyDelay: duration.optional(),
});

/** A cold standby: scheduled base backups plus production's archived WAL; no server until cutover. */
const coldStandby = strictObject({
    tier: z.literal("cold"),
    /** A new base backup when the newest is older than this (checked on every up). @default "24h" */
    baseBackupInterval: duration.default("24h"),
    /** How many base backups to keep. @default 2 */
    keepBaseBackups: z
        .number({ error: expect("a count", "use a whole number from 1 to 100") })
        .refine((n) => Number.isInteger(n) && n >= 1 && n <= 100, { error: (issue) => `${show(issue.input)} is not a count (use a whole number from 1 to 100)` })
        .default(2),
});

/** An instant as ISO 8601 with its time zone, e.g. "2026-11-22T13:35:00Z". */
const instant = z
    .string({ error: expect("an instant", 'use ISO 8601 with a zone, e.g. "2026-11-22T13:35:00Z"') })
    .refine((t) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/.test(t) && !Number.isNaN(Date.parse(t)), {
        error: (issue) => `${show(issue.input)} is not an instant (use ISO 8601 with a zone, e.g. "2026-11-22T13:35:00Z")`,
    });

/** A DR site: its own stack, standing by for production (`of`) until `cutover` is set. */
const disasterRecovery = strictObject({
    /** The production stack this site stands by for, e.g. "organization/stagewise/prod". */
    of: z.string({ error: expect("a stack name", 'use e.g. "organization/stagewise/prod"') }).min(1, { error: 'is empty (use e.g. "organization/stagewise/prod")' }),
    /** warm: a server in continuous recovery; cold: base backups and shipped WAL only. */
    tier: z.enum(["warm", "cold"], { error: expect("a DR tier", "use warm or cold") }),
    /** warm: apply only WAL older than this ("0s" for none). @default "3h" */
    applyDelay: duration.default("3h"),
    /** How often production's archived WAL is shipped here. @default "1h" */
    shipInterval: duration.default("1h"),
    /** A new base backup of production when the newest is older than this (on up). @default "24h" */
    baseBackupInterval: duration.default("24h"),
    /** How many base backups to keep. @default 2 */
    keepBaseBackups: z
        .number({ error: expect("a count", "use a whole number from 1 to 100") })
        .refine((n) => Number.isInteger(n) && n >= 1 && n <= 100, { error: (issue) => `${show(issue.input)} is not a count (use a whole number from 1 to 100)` })
        .default(2),
});

/** The one instant a DR cutover recovers every database to: exactly one of the four ways. */
const cutover = strictObject({
    /** recovery_target_time: commits at or before it are kept. */
    targetTime: instant.optional(),
    /** recovery_target_name: a restore point made with pg_create_restore_point (exact across databases). */
    targetName: z.string({ error: expect("a restore point name", 'use e.g. "before-release"') }).min(1, { error: "is empty (name a restore point)" }).optional(),
    /** Everything archived (after the tail of the log). */
    latest: z.literal(true, { error: expect("true", "use true, or leave latest out") }).optional(),
    /** The runbook's rule: the time of the disaster minus `margin`. */
    disasterTime: instant.optional(),
    /** With disasterTime. @default "2h" */
    margin: duration.optional(),
});
export type CutoverConfig = z.output<typeof cutover>;

/** A standby of production's server, by tier. */
const standbyMembers = [
    strictObject({
        tier: z.literal("hot"),
        /** Loopback port the standby listens on. */
        port,
        /** @default "127.0.0.1" */
        host: loopbackHost.default("127.0.0.1"),
        /** postgresql.conf settings of the standby. @default {} */
        settings: z.record(z.string(), settingValue).default({}),
        /** The primary waits for this standby on every commit (synchronous_standby_names). @default false */
        synchronous: z.boolean({ error: expect("true or false", "use true or false") }).default(false),
    }),
    warmStandby,
    coldStandby,
] as const;
/** The tiers this version builds (the others are refused as "not available yet"). */
const AVAILABLE_TIERS: string[] = standbyMembers.map((member) => member.shape.tier.value);

const standbySchema = z.discriminatedUnion(
    "tier",
    [...standbyMembers],
    {
        error: (issue) => {
            if (issue.code === "invalid_union") {
                const tier = (issue.input as { tier?: unknown } | undefined)?.tier;
                return STANDBY_TIERS.includes(tier as string)
                    ? `"${tier}" standbys are not available yet (available: ${AVAILABLE_TIERS.join(", ")})`
                    : `${show(tier)} is not a standby tier (use one of: ${STANDBY_TIERS.join(", ")})`;
            }
            return expect("a standby", "use a map with tier: hot and port")(issue);
        },
    },
);
export type StandbyConfig = z.output<typeof standbySchema>;

/** A bounded wait for a lock, in seconds. */
const lockWait = z
    .number({ error: expect("a number of seconds", "use a whole number from 0 to 3600") })
    .refine((n) => Number.isInteger(n) && n >= 0 && n <= 3600, {
        error: (issue) => `${show(issue.input)} is not a number of seconds (use a whole number from 0 to 3600)`,
    })
    .default(0);

const lock = strictObject({
    /** Why the lock is held, shown to whoever meets it. */
    reason: z.string({ error: expect("a reason", "say why the lock is held") }).min(1, { error: "is empty (say why the lock is held)" }),
    /** Seconds to wait for another holder to release it. @default 0 */
    waitSeconds: lockWait,
    /** Take over a lock held by exactly this stack (`<project>/<stack>`), when that stack no longer exists. */
    breakHeldBy: z.string({ error: expect("a stack", 'use "<project>/<stack>"') }).optional(),
});

const LOCK_SCOPE = /^[a-z][a-z0-9_-]{0,62}$/;

/** Keys whose values must be Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ["superuserPassword", "applicationPassword", "licenseKey"] as const;

// Never echo what was received for a secret.
const secret = z.string({ error: "is not a text value (set it with: pulumi config set --secret <key> <value>)" });

export const stageConfigSchema = strictObject({
    /** Which stage this stack is. */
    stage: stageKind,
    /** Where the servers run. @default { kind: "local" } */
    platform: platform.default({ kind: "local" }),
    /** The stage's database servers, by stable name. */
    servers: z
        .record(
            z.string().regex(SERVER_NAME),
            serverSchema,
            {
                error: (issue) =>
                    issue.code === "invalid_key"
                        ? "is not a server name (use lower-case letters, digits and -, starting with a letter)"
                        : expect("a map of servers", "use a map from server name to { port, settings }")(issue),
            },
        )
        .refine((servers) => Object.keys(servers).length > 0, { error: "is empty (declare at least one server)" }),
    /** The engine's databases, their owner and the tables stagewise acts on. */
    engine: engine.default({
        databases: { work: "work", business: "business", config: "config" },
        owner: "engine",
        schema: "reference",
        tables: { server: "Server.Server", licenseKey: "HostServer.LicenseKey" },
        units: {},
        stepMs: 100,
        takeoverMs: 2000,
    }),
    /** Accepted data loss. @default "4h" */
    rpo: duration.default("4h"),
    /** Production only: archive WAL and ship it to warm (and cold) standbys, on a schedule checked against `rpo`. */
    shipping: strictObject({
        /** How often the primary closes and archives a WAL segment (archive_timeout). @default "1h" */
        logBackupInterval: duration.default("1h"),
        /** How often archived WAL is shipped to each standby's incoming folder. @default "1h" */
        shipInterval: duration.default("1h"),
        /** Standbys apply only WAL older than this ("0s" for none). @default "3h" */
        applyDelay: duration.default("3h"),
    }).optional(),
    /** The production stack a staging stage is bound to. */
    production: production.optional(),
    /** This site's own identity rows (engine.tables.server and .licenseKey): recorded, and put back whenever `reapply` changes. */
    identity: strictObject({
        /** Any text; change it after a restore or cutover to put this site's rows back. */
        reapply: z.string({ error: expect("a trigger", 'use any text, e.g. "0"') }).min(1, { error: "is empty (use any text, e.g. \"0\")" }),
    }).optional(),
    /** Production only: standbys of its server, by stable name. @default {} */
    standbys: z
        .record(z.string().regex(SERVER_NAME), standbySchema, {
            error: (issue) =>
                issue.code === "invalid_key"
                    ? "is not a standby name (use lower-case letters, digits and -, starting with a letter)"
                    : expect("a map of standbys", "use a map from standby name to { tier, port }")(issue),
        })
        .default({}),
    /** Production only: the member that must be the primary — the server or one of its hot standbys. Changing it and running `up` switches over (or fails over when the primary is gone). @default the server */
    primary: z.string({ error: expect("a server or hot standby name", "use the name of the server or of a hot standby") }).optional(),
    /** Staging only: copy production's engine databases onto this stage's server, under production's copy lock. */
    copy: strictObject({
        /** Any text; change it to copy again (the copy is not repeated on every up). */
        trigger: z.string({ error: expect("a trigger", 'use any text, e.g. "2026-11-22"') }).min(1, { error: "is empty (use any text, e.g. a date)" }),
        /** Seconds to wait for another holder of production's copy lock. @default 0 */
        waitSeconds: lockWait,
    }).optional(),
    /** Production only: the test stack whose verified admin objects production may apply. */
    promotion: strictObject({
        /** e.g. "organization/stagewise/test" */
        from: z.string({ error: expect("a stack name", 'use e.g. "organization/stagewise/test"') }).min(1),
    }).optional(),
    /** Consistent backups of the engine's databases (and configuration files) on a schedule. */
    backups: strictObject({
        /** offline stops the engine units; online needs every engine database on one server. @default online on a one-server stage, else offline */
        mode: z.enum(["offline", "online"], { error: expect("a backup mode", "use offline or online") }).optional(),
        /** A new backup on the first `up` after this much time. @default "24h" */
        interval: duration.default("24h"),
        /** Scheduled backups kept (safety backups of restores are kept alongside). @default 3 */
        keep: z.number({ error: expect("a count", "use a whole number from 1 to 100") }).int().min(1).max(100).default(3),
        /** The engine's configuration files backed up and restored with the databases (relative to the project). @default [] */
        configFiles: z.array(z.string(), { error: expect("a list of files", 'use e.g. ["engine/settings.json"]') }).optional(),
    }).optional(),
    /** Restore a backup (its id from the `backups` output): the engine stops, a safety backup is taken first. */
    restore: strictObject({
        backup: z.string({ error: expect("a backup id", "use an id listed in the backups output") }).min(1, { error: "is empty (use an id listed in the backups output)" }),
    }).optional(),
    /** The engine's admin objects (processes, triggers), relative to the project. @default "admin/objects.json" */
    adminObjects: z.string({ error: expect("a file", 'use a path such as "admin/objects.json"') }).default("admin/objects.json"),
    /** Administrative locks this stack holds, by scope: on production (from a staging stage, or production itself). @default {} */
    locks: z
        .record(z.string().regex(LOCK_SCOPE), lock, {
            error: (issue) =>
                issue.code === "invalid_key"
                    ? "is not a lock scope (use lower-case letters, digits, _ and -, starting with a letter)"
                    : expect("a map of locks", "use a map from scope to { reason }")(issue),
        })
        .default({}),
    /** Password of the servers' superuser. @default generated */
    superuserPassword: secret.optional(),
    /** Password of the engine's application role. @default generated */
    applicationPassword: secret.optional(),
    /** This site's own licence key, re-applied after copies and restores. */
    licenseKey: secret.optional(),
    /** This stack is the DR site of a production stack (see components/disasterRecovery.ts). */
    disasterRecovery: disasterRecovery.optional(),
    /** DR site only: recover every database to one instant, promote, and re-apply this site's licence rows. */
    cutover: cutover.optional(),
}).superRefine((config, ctx) => {
    // Two servers of one stage on one port cannot both start.
    const byPort = new Map<number, string>();
    for (const [name, server] of Object.entries(config.servers)) {
        const other = byPort.get(server.port);
        if (other !== undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["servers", name, "port"],
                message: `${server.port} is already the port of servers.${other} (give each server its own port)`,
            });
        }
        byPort.set(server.port, name);
    }
    const names = Object.values(config.engine.databases);
    for (const [i, [role, name]] of Object.entries(config.engine.databases).entries()) {
        if (names.indexOf(name) !== i) {
            ctx.addIssue({
                code: "custom",
                path: ["engine", "databases", role],
                message: `"${name}" is already the name of another engine database (give each its own name)`,
            });
        }
    }
    if (config.stage !== "production" && Object.keys(config.locks).length > 0 && config.production === undefined) {
        ctx.addIssue({
            code: "custom",
            path: ["locks"],
            message: "a staging stage takes its locks on production (set production.stack to the production stack's name)",
        });
    }
    if (config.copy !== undefined && (config.stage === "production" || config.production === undefined)) {
        ctx.addIssue({
            code: "custom",
            path: ["copy"],
            message: config.stage === "production" ? "is for staging stages (production is the source)" : "needs production.stack (the stack to copy from)",
        });
    }
    if (Object.keys(config.standbys).length > 0 && config.stage !== "production") {
        ctx.addIssue({ code: "custom", path: ["standbys"], message: "are for production (staging stages are rebuilt by copies)" });
    }
    if (Object.keys(config.standbys).length > 0 && Object.keys(config.servers).length > 1) {
        ctx.addIssue({ code: "custom", path: ["standbys"], message: "need a production stage with one server (the primary)" });
    }
    if (config.primary !== undefined) {
        const hot = Object.keys(config.standbys).filter((n) => config.standbys[n].tier === "hot");
        const candidates = [...Object.keys(config.servers), ...hot];
        const tier = config.standbys[config.primary]?.tier;
        if (config.stage !== "production") {
            ctx.addIssue({ code: "custom", path: ["primary"], message: "is for production (the stage with standbys)" });
        } else if (tier !== undefined && tier !== "hot") {
            ctx.addIssue({ code: "custom", path: ["primary"], message: `"${config.primary}" is a ${tier} standby (only the server or a hot standby can be the primary: ${candidates.join(", ")})` });
        } else if (!candidates.includes(config.primary)) {
            ctx.addIssue({ code: "custom", path: ["primary"], message: `"${config.primary}" is not the server or a hot standby of this stage (use one of: ${candidates.join(", ")})` });
        }
    }
    if (config.shipping !== undefined) {
        if (config.stage !== "production") {
            ctx.addIssue({ code: "custom", path: ["shipping"], message: "is for production (the stage whose WAL is shipped)" });
        } else if (Object.keys(config.servers).length > 1) {
            ctx.addIssue({ code: "custom", path: ["shipping"], message: "needs a production stage with one server (the primary whose WAL is shipped)" });
        }
        // The schedule must meet the accepted data loss; the message shows the arithmetic.
        const plan = planLogShipping({ rpo: config.rpo, ...config.shipping });
        for (const problem of plan.ok ? [] : plan.problems) {
            const key = (["logBackupInterval", "shipInterval", "applyDelay"] as const).find((k) => problem.startsWith(`${k}: `));
            ctx.addIssue({
                code: "custom",
                path: key ? ["shipping", key] : ["shipping"],
                message: key ? problem.slice(key.length + 2) : problem,
            });
        }
    }
    for (const [name, s] of Object.entries(config.standbys)) {
        if (s.tier === "warm" && config.shipping === undefined) {
            ctx.addIssue({
                code: "custom",
                path: ["standbys", name, "tier"],
                message: '"warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })',
            });
        }
    }
    for (const [name, s] of Object.entries(config.standbys)) {
        const other = "port" in s ? byPort.get(s.port) : undefined; // a cold standby has no server
        if ("port" in s && other !== undefined) {
            ctx.addIssue({ code: "custom", path: ["standbys", name, "port"], message: `${s.port} is already the port of servers.${other} (give each server its own port)` });
        }
        if (name in config.servers) {
            ctx.addIssue({ code: "custom", path: ["standbys", name], message: "has the name of a server (give the standby its own name)" });
        }
    }
    for (const problem of disasterRecoveryProblems(config)) {
        ctx.addIssue({ code: "custom", ...problem });
    }
    const unitNames = Object.keys(config.engine.units);
    const holders = Object.keys(config.servers).filter((s) => databasesOf(config, s).length > 0);
    if (config.backups?.mode === "online" && holders.length > 1) {
        ctx.addIssue({
            code: "custom",
            path: ["backups", "mode"],
            message: `online needs every engine database on one server (one base backup is then one instant for all); they live on ${holders
                .map((s) => `servers.${s} (${databasesOf(config, s).join(", ")})`)
                .join(" and ")} (use offline)`,
        });
    }
    if (config.restore !== undefined && config.backups === undefined) {
        ctx.addIssue({ code: "custom", path: ["restore"], message: "needs backups (declare backups to restore from)" });
    }
    if (unitNames.length > 0 && config.engine.primary === undefined) {
        ctx.addIssue({ code: "custom", path: ["engine", "primary"], message: `missing (name the unit that acts: one of ${unitNames.join(", ")})` });
    }
    if (config.engine.primary !== undefined && !unitNames.includes(config.engine.primary)) {
        ctx.addIssue({
            code: "custom",
            path: ["engine", "primary"],
            message: unitNames.length === 0 ? `"${config.engine.primary}" names no unit (declare engine.units first)` : `"${config.engine.primary}" is not one of engine.units (${unitNames.join(", ")})`,
        });
    }
    if (config.platform.kind === "docker") {
        // Verified with mocks only (no Docker engine here): what the local platform does beyond servers is refused.
        for (const key of ["standbys", "shipping", "copy", "backups"] as const) {
            const value = (config as Record<string, unknown>)[key];
            if (value !== undefined && !(typeof value === "object" && value !== null && Object.keys(value).length === 0)) {
                ctx.addIssue({ code: "custom", path: [key], message: "is not available on the docker platform yet (use platform.kind: local)" });
            }
        }
        if (unitNames.length > 0) {
            ctx.addIssue({ code: "custom", path: ["engine", "units"], message: "run as local processes: not available on the docker platform yet (use platform.kind: local)" });
        }
        for (const key of ["superuserPassword", "applicationPassword"] as const) {
            if (config[key] === undefined) {
                ctx.addIssue({ code: "custom", path: [key], message: `is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret ${key} <value>)` });
            }
        }
    }
    if (config.copy !== undefined && Object.keys(config.servers).length > 1) {
        ctx.addIssue({ code: "custom", path: ["copy"], message: "needs a stage with one server (it receives all engine databases)" });
    }
    if (config.stage !== "production" && config.promotion !== undefined) {
        ctx.addIssue({ code: "custom", path: ["promotion"], message: "is for production (staging stages apply what is declared)" });
    }
    if (config.stage === "production" && config.production !== undefined) {
        ctx.addIssue({ code: "custom", path: ["production"], message: "is for staging stages (production binds to no other stage)" });
    }
    // Each engine database lives on exactly one server of the stage.
    const serverNames = Object.keys(config.servers);
    if (serverNames.length > 1) {
        for (const role of DATABASE_ROLES) {
            const holders = serverNames.filter((s) => config.servers[s].databases?.includes(role));
            if (holders.length !== 1) {
                ctx.addIssue({
                    code: "custom",
                    path: ["servers"],
                    message:
                        holders.length === 0
                            ? `no server holds the ${role} database (list it in one server's databases)`
                            : `the ${role} database is listed on ${holders.map((h) => `servers.${h}`).join(" and ")} (list it on one server)`,
                });
            }
        }
    }
}, { when: (payload) => payload.issues.length === 0 }); // cross-field checks need every field valid

/** postgresql.conf settings as the text PostgreSQL reads (numbers and booleans written out). */
export function settingsText(settings: Record<string, string | number | boolean>): Record<string, string> {
    return Object.fromEntries(Object.entries(settings).map(([name, value]) => [name, String(value)]));
}

/** The database roles each server holds: all of them on a stage's only server, else as listed. */
export function databasesOf(config: StageConfig, server: string): (typeof DATABASE_ROLES)[number][] {
    const listed = config.servers[server].databases;
    return listed ?? (Object.keys(config.servers).length === 1 ? [...DATABASE_ROLES] : []);
}

export type StageConfig = z.output<typeof stageConfigSchema>;
