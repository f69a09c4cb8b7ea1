// The schema of each top-level key of a stage's configuration, field by field. Every message names
// the problem in the user's own keys; schema.ts assembles the keys into the shapes of a stage.
import { z } from "zod";
import { serverSettings } from "./settings";
import { DATABASE_ROLES } from "../engine/referenceSchema";
import { parseQualifiedName } from "../engine/tables";
import { duration, expect, identifier, lockWait, memberHost, password, plainText, port, secret, SERVER_NAME, serverOsUserName, show, stackName, stageKind, strictObject } from "./primitives";
import { adminObjectsPath, configFilePath, dataRootPath, programFolder } from "./paths";
import { hosts } from "./hostSchema";
import { cutover, disasterRecovery, standbySchema } from "./standbySchemas";

export const serverSchema = strictObject({
    /** Port the server listens on. */
    port,
    /** Where it runs: a loopback address of the deploying machine, or the name of one of `hosts` (it then listens on that host's address). @default "127.0.0.1" */
    host: memberHost.default("127.0.0.1"),
    /** postgresql.conf settings, by name. @default {} */
    settings: serverSettings,
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
    dataRoot: dataRootPath.optional(),
    /** Folder of the PostgreSQL programs (initdb, pg_ctl, postgres). @default the newest /usr/lib/postgresql/N/bin, or PATH */
    binDir: programFolder.optional(),
    /** OS user that runs the servers when the deployer is root. @default "postgres" */
    osUser: serverOsUserName.optional(),
});

const dockerPlatform = strictObject({
    kind: z.literal("docker"),
    /** Image of the PostgreSQL servers. */
    image: z.string({ error: expect("an image", 'use e.g. "postgres:15"') }),
    /** Docker host. @default the local Docker socket */
    host: z.string({ error: expect("a Docker host", 'use e.g. "unix:///var/run/docker.sock"') }).optional(),
    /** Folder of psql on the deploying machine, which loads the reference schema. @default as for the local platform */
    binDir: programFolder.optional(),
});

const PLATFORM_KINDS = ["local", "docker"];
export const platform = z.discriminatedUnion("kind", [localPlatform, dockerPlatform], {
    error: (issue) => {
        if (issue.code === "invalid_union") {
            const kind = (issue.input as { kind?: unknown } | undefined)?.kind;
            return `${show(kind)} is not a platform (use one of: ${PLATFORM_KINDS.join(", ")})`;
        }
        return expect("a platform", `use a map with kind: ${PLATFORM_KINDS.join(" | ")}`)(issue);
    },
});
export type PlatformConfig = z.output<typeof platform>;

export const production = strictObject({
    /** Fully qualified name of the production stack, e.g. "organization/stagewise/prod". */
    stack: stackName("organization/stagewise/prod"),
});

const qualifiedTable = z
    .string({ error: expect("a table name", 'use "Schema.Table", e.g. "HostServer.LicenseKey"') })
    .refine((t) => parseQualifiedName(t) !== undefined, {
        error: (issue) => `${show(issue.input)} is not a schema-qualified table name (use "Schema.Table", e.g. "HostServer.LicenseKey")`,
    });

export const engine = strictObject({
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

const lock = strictObject({
    /** Why the lock is held, shown to whoever meets it. */
    reason: plainText(z.string({ error: expect("a reason", "say why the lock is held") }).min(1, { error: "is empty (say why the lock is held)" })),
    /** Seconds to wait for another holder to release it. @default 0 */
    waitSeconds: lockWait,
    /** Take over a lock held by exactly this stack (`<project>/<stack>`), when that stack no longer exists. */
    breakHeldBy: z
        .string({ error: expect("a stack", 'use "<project>/<stack>", e.g. "stagewise/test"') })
        .refine((s) => STACK_OF_PROJECT.test(s), {
            error: (issue) => `${show(issue.input)} is not a stack (use "<project>/<stack>", e.g. "stagewise/test": the holder a lock names)`,
        })
        .optional(),
});

/** `<project>/<stack>`, as a lock records its holder (Pulumi's project and stack name characters). */
const STACK_OF_PROJECT = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;

const LOCK_SCOPE = /^[a-z][a-z0-9_-]{0,62}$/;

/** Keys whose values must be Pulumi secrets (`pulumi config set --secret`). */
export const SECRET_KEYS = ["superuserPassword", "applicationPassword", "licenseKey"] as const;


const ENGINE_DEFAULTS = {
    databases: { work: "work", business: "business", config: "config" },
    owner: "engine",
    schema: "reference" as const,
    tables: { server: "Server.Server", licenseKey: "HostServer.LicenseKey" },
    units: {},
    stepMs: 100,
    takeoverMs: 2000,
};

/** Every top-level key of a stage's configuration, in the order messages list them; each shape in schema.ts takes the ones it needs. */
export const STAGE_FIELDS = {
    /** Which stage this stack is. */
    stage: stageKind,
    /** Where the servers run. @default { kind: "local" } */
    platform: platform.default({ kind: "local" }),
    /** Other machines the members run on (over SSH), by name; a member names one as its `host`. A secret (it holds private keys). @default {} */
    hosts,
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
    /** The engine's databases, their owner and the tables stagewise acts on. @default the reference engine's names, no units */
    engine: engine.default(ENGINE_DEFAULTS),
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
        reapply: plainText(z.string({ error: expect("a trigger", 'use any text, e.g. "0"') }).min(1, { error: "is empty (use any text, e.g. \"0\")" })),
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
        trigger: plainText(z.string({ error: expect("a trigger", 'use any text, e.g. "2026-11-22"') }).min(1, { error: "is empty (use any text, e.g. a date)" })),
        /** Seconds to wait for another holder of production's copy lock. @default 0 */
        waitSeconds: lockWait,
    }).optional(),
    /** Production only: the test stack whose verified admin objects production may apply. */
    promotion: strictObject({
        /** e.g. "organization/stagewise/test" */
        from: stackName("organization/stagewise/test"),
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
        configFiles: z.array(configFilePath, { error: expect("a list of files", 'use e.g. ["engine/settings.json"]') }).optional(),
    }).optional(),
    /** Restore a backup (its id from the `backups` output): the engine stops, a safety backup is taken first. */
    restore: strictObject({
        backup: z
            .string({ error: expect("a backup id", "use an id listed in the backups output") })
            .min(1, { error: "is empty (use an id listed in the backups output)" })
            .refine((id) => id === "" || /^\d{8}T\d{9}Z$/.test(id), {
                error: (issue) => `${show(issue.input)} is not a backup id (use an id listed in the backups output, e.g. "20261122T101500123Z")`,
            }),
    }).optional(),
    /** The engine's admin objects (processes, triggers), relative to the project. @default "admin/objects.json" */
    adminObjects: adminObjectsPath.default("admin/objects.json"),
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
    superuserPassword: password.optional(),
    /** Password of the engine's application role. @default generated */
    applicationPassword: password.optional(),
    /** This site's own licence key, re-applied after copies and restores. */
    licenseKey: secret.optional(),
    /** This stack is the DR site of a production stack (see components/dr/disasterRecovery.ts). */
    disasterRecovery: disasterRecovery.optional(),
    /** DR site only: recover every database to one instant, promote, and re-apply this site's licence rows. */
    cutover: cutover.optional(),
};
