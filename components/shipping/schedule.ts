// Log shipping as the disaster-recovery runbook lays it out, derived from the accepted data loss
// (RPO): log backups at an interval, shipping to the DR site at an interval, the DR site applying
// only logs older than a delay, applied logs archived. Pure arithmetic and PostgreSQL settings; no
// Pulumi here (components/shipping/logShipping.ts and the warm standby run it).
import { formatDuration, parseDuration } from "../config/duration";

export interface ShippingIntervals {
    /** Accepted data loss, e.g. "4h". */
    rpo: string;
    /** How often the primary closes and archives a WAL segment (archive_timeout): the runbook's log backup. @default "1h" */
    logBackupInterval?: string;
    /** How often archived WAL is shipped to the DR site. @default "1h" */
    shipInterval?: string;
    /** The DR site applies only WAL older than this (recovery_min_apply_delay; "0s" for none). @default "3h" */
    applyDelay?: string;
}

/** Shortest log backup interval: each forced switch archives a whole 16 MB WAL segment. */
export const MIN_LOG_BACKUP_INTERVAL_MS = 5_000;

export interface ShippingPlan {
    rpoMs: number;
    logBackupIntervalMs: number;
    shipIntervalMs: number;
    applyDelayMs: number;
    /** A commit just after a log backup is safe at the DR site only once the next backup has been shipped. */
    worstCaseLossMs: number;
    /** "1h + 1h = 2h <= 4h": the arithmetic, for outputs and messages. */
    arithmetic: string;
}

export interface ShippingFolders {
    /** Where the primary archives WAL (its side of the log backup). */
    archive: string;
    /** Where shipped WAL lands at the DR site. */
    incoming: string;
    /** Where the DR site keeps WAL it has applied. */
    applied: string;
}

const DEFAULTS = { logBackupInterval: "1h", shipInterval: "1h", applyDelay: "3h" };

/** The plan, or every problem with the arithmetic that shows why it cannot meet the RPO. */
export function planLogShipping(intervals: ShippingIntervals): { ok: true; plan: ShippingPlan } | { ok: false; problems: string[] } {
    const problems: string[] = [];
    const read = (key: keyof ShippingIntervals, text: string | undefined, zeroAllowed = false): number => {
        const ms = text === undefined ? undefined : parseDuration(text);
        if (ms === undefined || ms < 0 || (ms === 0 && !zeroAllowed)) {
            problems.push(`${key}: ${JSON.stringify(text)} is not a ${zeroAllowed ? "" : "positive "}duration (use e.g. "15m", "1h"${zeroAllowed ? ', or "0s"' : ""})`);
            return NaN;
        }
        return ms;
    };
    const rpoMs = read("rpo", intervals.rpo);
    const logBackupIntervalMs = read("logBackupInterval", intervals.logBackupInterval ?? DEFAULTS.logBackupInterval);
    const shipIntervalMs = read("shipInterval", intervals.shipInterval ?? DEFAULTS.shipInterval);
    const applyDelayMs = read("applyDelay", intervals.applyDelay ?? DEFAULTS.applyDelay, true); // a warm standby may apply at once
    if (problems.length > 0) {
        return { ok: false, problems };
    }
    // archive_timeout takes seconds; 5 s keeps tests quick while a busy server still archives at most ~3 MB/s.
    if (logBackupIntervalMs < MIN_LOG_BACKUP_INTERVAL_MS) {
        problems.push(
            `logBackupInterval: ${formatDuration(logBackupIntervalMs)} is below ${formatDuration(MIN_LOG_BACKUP_INTERVAL_MS)} ` +
                "(each log backup archives a whole 16 MB WAL segment)",
        );
    }
    if (shipIntervalMs < 1_000) {
        problems.push(`shipInterval: ${formatDuration(shipIntervalMs)} is below 1s (the shipper wakes at most once a second)`);
    }
    const worstCaseLossMs = logBackupIntervalMs + shipIntervalMs;
    const sum = `${formatDuration(logBackupIntervalMs)} + ${formatDuration(shipIntervalMs)} = ${formatDuration(worstCaseLossMs)}`;
    if (worstCaseLossMs > rpoMs) {
        problems.push(
            `rpo ${formatDuration(rpoMs)} cannot be met: worst-case data loss = log backup interval + shipping interval = ` +
                `${sum} > ${formatDuration(rpoMs)} (shorten an interval, or accept more data loss)`,
        );
    }
    if (problems.length > 0) {
        return { ok: false, problems };
    }
    return {
        ok: true,
        plan: { rpoMs, logBackupIntervalMs, shipIntervalMs, applyDelayMs, worstCaseLossMs, arithmetic: `${sum} <= ${formatDuration(rpoMs)}` },
    };
}

/** PostgreSQL runs these commands through a shell: a folder goes in only when it needs no quoting. */
function safeFolder(folder: string): string {
    if (/['\s%]/.test(folder)) {
        throw new Error(`folder ${JSON.stringify(folder)} must not contain quotes, spaces or %`);
    }
    return folder;
}

const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;

/** The primary's side alone: archive WAL into `archive` at least every log backup interval. */
/** `plan` with a standby's own applyDelay (none: the plan's), or undefined when it is not a duration of 0s or more. */
export function withApplyDelay(plan: ShippingPlan, applyDelay: string | undefined): ShippingPlan | undefined {
    if (applyDelay === undefined) {
        return plan;
    }
    const ms = parseDuration(applyDelay);
    return ms === undefined || ms < 0 ? undefined : { ...plan, applyDelayMs: ms };
}

export function archiveSettings(plan: ShippingPlan, archiveFolder: string): Record<string, string> {
    const archive = safeFolder(archiveFolder);
    return {
        archive_mode: "on",
        archive_timeout: seconds(plan.logBackupIntervalMs),
        // Never overwrite an archived segment: a second copy with other content is an error, not a fix
        // (the same content again is success: the archiver may repeat a copy it did not see finish).
        // Copied under a dot-name and renamed, so the shipper never sees half a segment.
        archive_command: `if test -f ${archive}/%f; then cmp -s %p ${archive}/%f; else cp %p ${archive}/.%f.part && mv ${archive}/.%f.part ${archive}/%f; fi`,
    };
}

/**
 * The primary's and the DR standby's PostgreSQL settings for a plan. `binDir` is where
 * pg_archivecleanup lives (the server's PATH may not have it); without it, PATH is used.
 */
export function shippingSettings(
    plan: ShippingPlan,
    folders: ShippingFolders,
    binDir?: string,
): { primary: Record<string, string>; standby: Record<string, string> } {
    const incoming = safeFolder(folders.incoming);
    const cleanup = binDir === undefined ? "pg_archivecleanup" : `${safeFolder(binDir)}/pg_archivecleanup`;
    return {
        primary: archiveSettings(plan, folders.archive),
        standby: {
            // `test -f` first: a segment not shipped yet is the normal case, not an error for the log.
            restore_command: `test -f ${incoming}/%f && cp ${incoming}/%f %p`,
            recovery_min_apply_delay: seconds(plan.applyDelayMs),
            // Look for newly shipped WAL at least every shipping interval (and no less often than PostgreSQL's 5 s).
            wal_retrieve_retry_interval: seconds(Math.max(1_000, Math.min(plan.shipIntervalMs, 5_000))),
            // Applied logs are archived, not deleted (the runbook keeps them): -n lists what may go.
            archive_cleanup_command: `${cleanup} -n -x .partial ${incoming} %r | xargs -r mv -t ${safeFolder(folders.applied)}`,
        },
    };
}

/** The runbook's recovery instant: the time of the disaster minus a margin ("2h"), to the millisecond. */
export function recoveryTargetFor(disaster: Date, margin = "2h"): string {
    const ms = parseDuration(margin);
    if (ms === undefined) {
        throw new Error(`margin ${JSON.stringify(margin)} is not a duration (use e.g. "2h")`);
    }
    return new Date(disaster.getTime() - ms).toISOString();
}
