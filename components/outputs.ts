// The stack outputs every stage exports: a versioned contract for other pipelines
// (`pulumi stack output --json`, StackReference). Bump OUTPUTS_VERSION on any breaking change.
import { z } from "zod";
import { STAGE_KINDS } from "./config/schema";

export const OUTPUTS_VERSION = 1;

const placement = z.strictObject({
    server: z.string(),
    name: z.string(),
    host: z.string(),
    port: z.number().int(),
});

const server = z.strictObject({
    host: z.string(),
    port: z.number().int(),
    /** "host:port" */
    endpoint: z.string(),
    serverVersion: z.string(),
    systemIdentifier: z.string(),
    running: z.boolean(),
    startedAt: z.string(),
    /** Names of the engine databases on this server. */
    databases: z.array(z.string()),
});

/** A verified base backup (cold standbys, DR sites). */
const baseBackup = z.strictObject({ id: z.string(), finishedAt: z.string(), bytes: z.number(), verified: z.boolean(), startLsn: z.string(), endLsn: z.string() });

/** A warm standby: in continuous recovery from shipped WAL. */
const warmStandby = z.strictObject({
    tier: z.literal("warm"),
    endpoint: z.string(),
    running: z.boolean(),
    inRecovery: z.boolean(),
    /** Commit time of the last transaction it applied; null before the first. */
    lastReplayedAt: z.string().nullable(),
    /** Seconds from that commit to when it was last looked at. */
    lagSeconds: z.number().nullable(),
    /** Its recovery_min_apply_delay, e.g. "3h". */
    applyDelay: z.string(),
    /** Folder shipped WAL lands in. */
    incoming: z.string(),
});

const heldLock = z.strictObject({ scope: z.string(), holder: z.string(), reason: z.string(), acquiredAt: z.string() });

const boundServer = z.strictObject({ stagingStack: z.string(), stagingServer: z.string(), stage: z.string(), endpoint: z.string() });

/** What `pulumi stack output --json --show-secrets` prints for a stage (secrets as their values). */
export const stageOutputsSchema = z.strictObject({
    outputsVersion: z.literal(OUTPUTS_VERSION),
    /** With engine.units: the declared and acting primary unit, each unit's process, and the acting unit's last state recovery. */
    engine: z
        .strictObject({
            declaredPrimary: z.string(),
            actingPrimary: z.string().nullable(),
            units: z.record(z.string(), z.strictObject({ pid: z.number().int().nullable(), running: z.boolean() })),
            lastRecovery: z
                .strictObject({ unit: z.string(), at: z.string(), ms: z.number(), resumed: z.number().int(), restarted: z.number().int(), terminated: z.number().int() })
                .nullable(),
        })
        .optional(),
    /** With backups: the schedule, every backup set with its verification, staleness, and the last restore. */
    backups: z
        .strictObject({
            mode: z.enum(["offline", "online"]),
            interval: z.string(),
            backups: z.array(
                z.strictObject({ id: z.string(), mode: z.enum(["offline", "online"]), safety: z.boolean(), takenAt: z.string(), bytes: z.number(), verified: z.boolean() }),
            ),
            newestVerifiedAgeSeconds: z.number().nullable(),
            stale: z.boolean(),
            lastRestore: z
                .strictObject({
                    backup: z.string(),
                    safetyBackup: z.string(),
                    restoredAt: z.string(),
                    cleanup: z.strictObject({ terminated: z.number().int(), restarted: z.number().int() }).nullable(),
                })
                .nullable(),
        })
        .optional(),
    /** This stage's topology as a Mermaid flowchart (`npm run diagram` draws all stages together). */
    topology: z.string().optional(),
    stage: z.enum(STAGE_KINDS),
    platform: z.enum(["local", "docker"]),
    dataRoot: z.string(),
    postgresVersion: z.string(),
    servers: z.record(z.string(), server),
    databases: z.strictObject({ work: placement, business: placement, config: placement }),
    /** libpq URLs of the engine databases for the owner role. A secret: "[secret]" without --show-secrets. */
    /** Administrative locks this stack holds, by scope. */
    locks: z.record(z.string(), heldLock),
    /** Production only: the staging servers bound to it, as of its last `up`. */
    boundStagingServers: z.array(boundServer).optional(),
    /** Staging only (when production.stack is set): the production stack and the servers bound to it. */
    boundTo: z.strictObject({ stack: z.string(), servers: z.array(z.string()) }).optional(),
    /** The admin objects applied and verified on this stage (production: only what test verified). */
    adminObjects: z.strictObject({
        hash: z.string(),
        verified: z.boolean(),
        /** "process/<name>" or "trigger/<name>" → hash of the applied definition. */
        objects: z.record(z.string(), z.string()),
        /** Production only: why the set is held back. */
        held: z.string().optional(),
    }),
    /** Production only: the server staging stages copy from (a secret, with its superuser password). */
    copySource: z.union([z.literal("[secret]"), z.strictObject({ host: z.string(), port: z.number().int(), superuserPassword: z.string() })]).optional(),
    /** With `identity` configured: when this site's identity rows were recorded and last put back. */
    identity: z.strictObject({ recordedAt: z.string(), reappliedAt: z.string(), rowsReapplied: z.number().int() }).optional(),
    /** Production only, with standbys: each standby and its replication state as of the last up. */
    standbys: z
        .record(
            z.string(),
            z.discriminatedUnion("tier", [z.strictObject({
                tier: z.literal("hot"),
                endpoint: z.string(),
                slot: z.string(),
                running: z.boolean(),
                streaming: z.boolean(),
                lagBytes: z.number().nullable(),
                /** Declared synchronous (the primary waits for it on commit). */
                synchronous: z.boolean(),
                /** pg_stat_replication.sync_state on the primary ("sync", "async", ...); null while not streaming or when it is the primary. */
                syncState: z.string().nullable(),
                /** Its declared role: "primary" once `primary` names it. */
                role: z.enum(["primary", "standby"]),
            }), warmStandby]),
        )
        .optional(),
    /** Production only, with `shipping`: where its WAL is archived, what the schedule can lose at worst, and whether archiving works. */
    logShipping: z
        .strictObject({
            /** Absolute folder of the archived WAL. */
            archive: z.string(),
            /** e.g. "2h": log backup interval + shipping interval. */
            worstCaseLoss: z.string(),
            worstCaseLossSeconds: z.number(),
            /** "worst-case data loss = log backup interval + shipping interval = 1h + 1h = 2h <= 4h (rpo)" */
            arithmetic: z.string(),
            /** Seconds since the newest log every warm standby has was archived; null before the first (or without warm standbys). */
            newestShippedLogAgeSeconds: z.number().nullable(),
            /** Production's archiver reports its last attempt failed. */
            archiveFailing: z.boolean(),
            /** The failing WAL file, since when, and what to check; null while archiving works. */
            lastArchiveError: z.string().nullable(),
            /** Members on several machines: each archives into `archive` on its host; shippers read the one that accepts writes (the declared primary first). */
            archiveSources: z.array(z.strictObject({ host: z.string(), port: z.number().int() })).optional(),
        })
        .optional(),
    /** Production only, with hot standbys: the member that is the primary, and the last switchover or failover. */
    primary: z
        .strictObject({
            name: z.string(),
            endpoint: z.string(),
            lastChange: z
                .strictObject({
                    kind: z.enum(["switchover", "failover"]),
                    from: z.string(),
                    to: z.string(),
                    at: z.string(),
                    seconds: z.number(),
                    /** Switchover: the old primary's shutdown checkpoint, replayed by the new one before its promotion. */
                    checkpointLsn: z.string().nullable(),
                    rejoined: z.array(z.string()),
                    needsRebuild: z.array(z.string()),
                    /** Members on hosts declared lost at that change: left as they were, rejoined once back (absent from changes recorded before hosts.<name>.lost existed). */
                    onLostHosts: z.array(z.string()).optional(),
                })
                .nullable(),
        })
        .optional(),
    /** Production only, with hot standbys on different subnets: the manual steps that redirect clients to the declared primary (instead of failoverConnectionStrings). */
    redirectionRunbook: z.array(z.string()).optional(),
    /** Production only, with standbys: URLs over the primary and the standbys that always reach the writable one (secret). */
    failoverConnectionStrings: z
        .union([z.literal("[secret]"), z.strictObject({ work: z.string(), business: z.string(), config: z.string() })])
        .optional(),
    /** A DR site's stack (disasterRecovery configured): "dr". */
    site: z.literal("dr").optional(),
    /** DR site only: what stands by for production, and how current it is. */
    disasterRecovery: z
        .strictObject({
            of: z.string(),
            tier: z.enum(["warm", "cold"]),
            state: z.enum(["standing by", "cut over"]),
            /** The engine's units stay off until cutover. */
            /** off until cutover; on when the DR site declares engine units and has cut over. */
            engineUnits: z.enum(["off", "on"]),
            server: z.strictObject({ name: z.string(), running: z.boolean(), inRecovery: z.boolean(), replayedTo: z.string().nullable() }),
            baseBackups: z.array(baseBackup),
            shipping: z.strictObject({ from: z.string(), to: z.string(), newestShipped: z.string().nullable(), lastRunAt: z.string().nullable(), lastError: z.string().nullable() }),
        })
        .optional(),
    /** DR site only: null while standing by; after cutover, the one instant every database was recovered to. */
    cutover: z
        .strictObject({
            target: z.string(),
            recoveredTo: z.string().nullable(),
            promotedAt: z.string(),
            tailOfLog: z.strictObject({ method: z.enum(["archived", "copied", "none"]), segments: z.array(z.string()), detail: z.string() }),
            baseBackup: z.string(),
            /** "in place": a warm server replayed the rest; "from base backup": restored anew. */
            method: z.enum(["in place", "from base backup"]),
            licenceRowsReapplied: z.number().int(),
        })
        .nullable()
        .optional(),
    /** Production only, with cold standbys: their scheduled base backups and the archive they recover from. */
    coldStandbys: z.record(z.string(), z.strictObject({ tier: z.literal("cold"), archive: z.string(), baseBackups: z.array(baseBackup) })).optional(),
    /** Staging only, with `copy` configured: the last copy of production's databases and its verification. */
    lastCopy: z
        .strictObject({
            copiedAt: z.string(),
            trigger: z.string(),
            bytes: z.number(),
            verified: z.boolean(),
            identityRowsRestored: z.number().int(),
            sourceSystemIdentifier: z.string(),
            tables: z.array(z.strictObject({ database: z.string(), table: z.string(), rows: z.number().int(), checksum: z.string() })),
        })
        .optional(),
    connectionStrings: z.union([
        z.literal("[secret]"),
        z.strictObject({ work: z.string(), business: z.string(), config: z.string() }),
    ]),
});

export type StageOutputs = z.output<typeof stageOutputsSchema>;
