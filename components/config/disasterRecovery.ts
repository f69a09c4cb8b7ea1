// Cross-field checks of the DR site's configuration (disasterRecovery, cutover) and of cold
// standbys, and the recovery target a cutover configuration names. No Pulumi here.
import type { RecoveryTarget } from "../platform/recovery/restore";
import { recoveryTargetFor } from "../standby/schedule";
import type { CutoverConfig, StageConfig } from "./schema";

export interface PathProblem {
    path: (string | number)[];
    message: string;
}

const CUTOVER_WAYS = ["targetTime", "targetName", "latest", "disasterTime"] as const;

/** Every problem of the DR keys, each with its path in the user's own keys. */
export function disasterRecoveryProblems(config: StageConfig): PathProblem[] {
    const problems: PathProblem[] = [];
    for (const [name, s] of Object.entries(config.standbys)) {
        if (s.tier === "cold" && config.shipping === undefined) {
            problems.push({
                path: ["standbys", name, "tier"],
                message: '"cold" standbys recover from archived WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })',
            });
        }
    }
    const dr = config.disasterRecovery;
    if (dr !== undefined) {
        if (config.stage !== "production") {
            problems.push({ path: ["disasterRecovery"], message: "needs stage: production (the DR site takes over production's role at cutover)" });
        }
        if (Object.keys(config.servers).length !== 1) {
            problems.push({ path: ["servers"], message: "a DR site has one server, named like production's (it receives all engine databases)" });
        }
        for (const key of ["shipping", "standbys", "copy", "production", "promotion", "identity"] as const) {
            const value = config[key];
            if (value !== undefined && !(typeof value === "object" && Object.keys(value).length === 0)) {
                problems.push({ path: [key], message: "is not for a DR site (its data comes from production's base backups and shipped WAL)" });
            }
        }
        if (config.licenseKey === undefined) {
            problems.push({
                path: ["licenseKey"],
                message: "a DR site needs its own licence key, re-applied at cutover (set it with: pulumi config set --secret licenseKey <key>)",
            });
        }
    }
    if (config.cutover !== undefined) {
        if (dr === undefined) {
            problems.push({ path: ["cutover"], message: "is for a DR site (set disasterRecovery.of to the production stack)" });
        }
        const given = CUTOVER_WAYS.filter((k) => config.cutover![k] !== undefined);
        if (given.length !== 1) {
            problems.push({
                path: ["cutover"],
                message: `${given.length === 0 ? "names no target" : `names ${given.join(" and ")}`} (use exactly one of: targetTime, targetName, latest: true, disasterTime)`,
            });
        }
        if (config.cutover.margin !== undefined && config.cutover.disasterTime === undefined) {
            problems.push({ path: ["cutover", "margin"], message: "goes with disasterTime (the runbook's time of the disaster minus a margin)" });
        }
    }
    return problems;
}

/** The one instant a checked cutover configuration names. */
export function cutoverTarget(cutover: CutoverConfig): RecoveryTarget {
    if (cutover.targetTime !== undefined) {
        return { time: new Date(cutover.targetTime).toISOString() };
    }
    if (cutover.targetName !== undefined) {
        return { name: cutover.targetName };
    }
    if (cutover.disasterTime !== undefined) {
        return { time: recoveryTargetFor(new Date(cutover.disasterTime), cutover.margin ?? "2h") };
    }
    return { latest: true };
}
