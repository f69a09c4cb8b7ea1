// Log shipping as the disaster-recovery runbook lays it out, derived from the accepted data loss
// (RPO): log backups at an interval, shipping to the DR site at an interval, the DR site applying
// only logs older than a delay, applied logs archived. Pure arithmetic and PostgreSQL settings; no
// Pulumi here. (The resources that run it come with the standby work.)
import { formatDuration, parseDuration } from "../config/duration";

export interface ShippingIntervals {
    /** Accepted data loss, e.g. "4h". */
    rpo: string;
    /** How often the primary closes and archives a WAL segment (archive_timeout): the runbook's log backup. @default "1h" */
    logBackupInterval?: string;
    /** How often archived WAL is shipped to the DR site. @default "1h" */
    shipInterval?: string;
    /** The DR site applies only WAL older than this (recovery_min_apply_delay). @default "3h" */
    applyDelay?: string;
}

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
    const read = (key: keyof ShippingIntervals, text: string | undefined): number => {
        const ms = text === undefined ? undefined : parseDuration(text);
        if (ms === undefined || ms <= 0) {
            problems.push(`${key}: ${JSON.stringify(text)} is not a positive duration (use e.g. "15m", "1h")`);
            return NaN;
        }
        return ms;
    };
    const rpoMs = read("rpo", intervals.rpo);
    const logBackupIntervalMs = read("logBackupInterval", intervals.logBackupInterval ?? DEFAULTS.logBackupInterval);
    const shipIntervalMs = read("shipInterval", intervals.shipInterval ?? DEFAULTS.shipInterval);
    const applyDelayMs = read("applyDelay", intervals.applyDelay ?? DEFAULTS.applyDelay);
    if (problems.length > 0) {
        return { ok: false, problems };
    }
    if (logBackupIntervalMs < 60_000) {
        problems.push(`logBackupInterval: ${formatDuration(logBackupIntervalMs)} is below 1m (each log backup archives a whole 16 MB WAL segment)`);
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

/** The primary's and the DR standby's PostgreSQL settings for a plan. */
export function shippingSettings(plan: ShippingPlan, folders: ShippingFolders): { primary: Record<string, string>; standby: Record<string, string> } {
    const seconds = (ms: number) => `${Math.round(ms / 1000)}s`;
    return {
        primary: {
            archive_mode: "on",
            archive_timeout: seconds(plan.logBackupIntervalMs),
            // Never overwrite an archived segment: a second copy with other content is an error, not a fix.
            archive_command: `test ! -f ${safeFolder(folders.archive)}/%f && cp %p ${safeFolder(folders.archive)}/%f`,
        },
        standby: {
            restore_command: `cp ${safeFolder(folders.incoming)}/%f %p`,
            recovery_min_apply_delay: seconds(plan.applyDelayMs),
            // Applied logs are archived, not deleted (the runbook keeps them): -n lists what may go.
            archive_cleanup_command: `pg_archivecleanup -n -x .partial ${safeFolder(folders.incoming)} %r | xargs -r mv -t ${safeFolder(folders.applied)}`,
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
