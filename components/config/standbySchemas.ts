// The schemas of standbys (by tier), of a DR site and of its cutover.
import { z } from "zod";
import { serverSettings } from "./settings";
import { duration, expect, instant, memberHost, plainText, port, show, stackName, strictObject } from "./primitives";

const STANDBY_TIERS = ["cold", "warm", "hot"];

/** A warm standby: a server in continuous recovery from WAL shipped by production's `shipping`. */
const warmStandby = strictObject({
    tier: z.literal("warm"),
    /** Loopback port the standby listens on (read-only queries show how far it has applied). */
    port,
    /** @default "127.0.0.1" */
    host: memberHost.default("127.0.0.1"),
    /** postgresql.conf settings of the standby. @default {} */
    settings: serverSettings,
    /** Apply only WAL older than this (recovery_min_apply_delay; "0s" for none). @default shipping.applyDelay */
    applyDelay: duration.optional(),
});

/** A cold standby: scheduled base backups plus production's archived WAL; no server until cutover. */
const coldStandby = strictObject({
    tier: z.literal("cold"),
    /** The machine keeping its base backups: a name under `hosts`. @default this machine */
    host: memberHost.optional(),
    /** A new base backup when the newest is older than this (checked on every up). @default "24h" */
    baseBackupInterval: duration.default("24h"),
    /** How many base backups to keep. @default 2 */
    keepBaseBackups: z
        .number({ error: expect("a count", "use a whole number from 1 to 100") })
        .refine((n) => Number.isInteger(n) && n >= 1 && n <= 100, { error: (issue) => `${show(issue.input)} is not a count (use a whole number from 1 to 100)` })
        .default(2),
});

/** A DR site: its own stack, standing by for production (`of`) until `cutover` is set. */
export const disasterRecovery = strictObject({
    /** The production stack this site stands by for, e.g. "organization/stagewise/prod". */
    of: stackName("organization/stagewise/prod"),
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
export const cutover = strictObject({
    /** recovery_target_time: commits at or before it are kept. */
    targetTime: instant.optional(),
    /** recovery_target_name: a restore point made with pg_create_restore_point (exact across databases). */
    targetName: plainText(z.string({ error: expect("a restore point name", 'use e.g. "before-release"') }).min(1, { error: "is empty (name a restore point)" }), 63).optional(),
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
        host: memberHost.default("127.0.0.1"),
        /** postgresql.conf settings of the standby. @default {} */
        settings: serverSettings,
        /** The primary waits for this standby on every commit (synchronous_standby_names). @default false */
        synchronous: z.boolean({ error: expect("true or false", "use true or false") }).default(false),
    }),
    warmStandby,
    coldStandby,
] as const;
/** The tiers this version builds (the others are refused as "not available yet"). */
const AVAILABLE_TIERS: string[] = standbyMembers.map((member) => member.shape.tier.value);

export const standbySchema = z.discriminatedUnion(
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
