// Cross-field checks of the DR site's shape of configuration (disasterRecovery, cutover, and the keys
// that are not for it) and of cold standbys, and the recovery target a cutover configuration names.
// No Pulumi here.
import { recoveryTargetFor } from "../shipping/schedule";
import { declared } from "./helpers";
import type { CheckContext, CrossCheck, CutoverFacts, PathProblem } from "./checkTypes";

const CUTOVER_WAYS = ["targetTime", "targetName", "latest", "disasterTime"] as const;

/** The forms a stack can be named by, from its own coordinates (`org/project/stack`, `project/stack`, `stack`). */
function namesOf(stack: NonNullable<CheckContext["stack"]>): string[] {
    return [`${stack.organization}/${stack.project}/${stack.stack}`, `${stack.project}/${stack.stack}`, stack.stack];
}

export const coldStandbysNeedShipping: CrossCheck = {
    name: "cold standbys need shipping",
    needs: ["standbys", "shipping"],
    check: (config) =>
        Object.entries(config.standbys).flatMap(([name, s]) =>
            s.tier === "cold" && config.shipping === undefined
                ? [{ path: ["standbys", name, "tier"], message: '"cold" standbys recover from archived WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })' }]
                : [],
        ),
};

export const drSiteIsOneServerProduction: CrossCheck = {
    name: "a DR site is a one-server production site of another stack, with its own licence",
    needs: ["disasterRecovery", "stage", "servers", "shipping", "standbys", "copy", "production", "promotion", "identity", "licenseKey"],
    check(config, context) {
        const dr = config.disasterRecovery;
        if (dr === undefined) {
            return [];
        }
        const problems: PathProblem[] = [];
        if (context.stack !== undefined && namesOf(context.stack).includes(dr.of)) {
            problems.push({
                path: ["disasterRecovery", "of"],
                message: `${JSON.stringify(dr.of)} is this stack itself (name the production stack this site stands by for, e.g. "${context.stack.organization}/${context.stack.project}/prod")`,
            });
        }
        if (config.stage !== "production") {
            problems.push({ path: ["disasterRecovery"], message: "needs stage: production (the DR site takes over production's role at cutover)" });
        }
        if (Object.keys(config.servers).length !== 1) {
            problems.push({ path: ["servers"], message: "a DR site has one server, named like production's (it receives all engine databases)" });
        }
        for (const key of ["shipping", "standbys", "copy", "production", "promotion", "identity"] as const) {
            if (declared(config[key])) {
                problems.push({ path: [key], message: "is not for a DR site (its data comes from production's base backups and shipped WAL)" });
            }
        }
        if (config.licenseKey === undefined) {
            problems.push({
                path: ["licenseKey"],
                message: "a DR site needs its own licence key, re-applied at cutover (set it with: pulumi config set --secret licenseKey <key>)",
            });
        }
        return problems;
    },
};

export const cutoverNamesOnePastInstant: CrossCheck = {
    name: "a cutover names exactly one instant that has passed, on a DR site",
    needs: ["cutover", "disasterRecovery"],
    check(config, context) {
        const cutover = config.cutover;
        if (cutover === undefined) {
            return [];
        }
        const problems: PathProblem[] = [];
        if (config.disasterRecovery === undefined) {
            problems.push({ path: ["cutover"], message: "is for a DR site (set disasterRecovery.of to the production stack)" });
        }
        const given = CUTOVER_WAYS.filter((k) => cutover[k] !== undefined);
        if (given.length !== 1) {
            problems.push({
                path: ["cutover"],
                message: `${given.length === 0 ? "names no target" : `names ${given.join(" and ")}`} (use exactly one of: targetTime, targetName, latest: true, disasterTime)`,
            });
        }
        if (cutover.margin !== undefined && cutover.disasterTime === undefined) {
            problems.push({ path: ["cutover", "margin"], message: "goes with disasterTime (the runbook's time of the disaster minus a margin)" });
        }
        // Checked here, before anything is read from production's stack: no WAL can reach a future instant.
        const now = context.now ?? new Date();
        for (const key of ["targetTime", "disasterTime"] as const) {
            const text = cutover[key];
            if (text !== undefined && Date.parse(text) > now.getTime()) {
                problems.push({
                    path: ["cutover", key],
                    message: `${JSON.stringify(text)} is in the future (now is ${now.toISOString()}): a cutover recovers to an instant that has passed (use an earlier time, or latest: true)`,
                });
            }
        }
        return problems;
    },
};

/** The instant a recovery stops at, as backup/restore.ts takes it (written out here: the checks import no platform code). */
export type CutoverTarget = { time: string } | { name: string } | { latest: true };

/** The one instant a checked cutover configuration names. */
export function cutoverTarget(cutover: CutoverFacts): CutoverTarget {
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
