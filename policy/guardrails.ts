// The guardrails, as plain functions of what the policy engine shows a stack: its resources (type,
// name, protect) and the stack's configuration (which the engine hands to every default provider).
// index.ts registers them as a Pulumi policy pack; unit tests call them directly.
import { parseDuration } from "../components/config/duration";
import { parseStageConfig } from "../components/config/problems";
import { SECRET_KEYS } from "../components/config/schema";

export interface SeenResource {
    type: string;
    name: string;
    protect: boolean;
}

/** Resources that hold production data: a replacement or deletion loses it. */
const SERVER_TYPES = ["pulumi-nodejs:dynamic/stagewise:PostgresServer", "stagewise:docker:Server"];

export interface StageFacts {
    stage: string;
    rpo: string;
    standbys: string[];
    /** A disaster-recovery site's stack: it is itself the standby. */
    disasterRecoverySite: boolean;
}

/**
 * The facts the guardrails need, from the stack's configuration as the engine shows it (full keys,
 * structured values as JSON text). Secret values are never read.
 */
export function stageFacts(config: Record<string, unknown>): StageFacts | string {
    const raw: Record<string, string> = {};
    const secrets = new Set<string>();
    for (const [key, value] of Object.entries(config)) {
        if (!key.startsWith("stagewise:")) {
            continue;
        }
        if (SECRET_KEYS.includes(key.slice("stagewise:".length) as (typeof SECRET_KEYS)[number])) {
            raw[key] = "unread"; // present, its value never read
            secrets.add(key);
        } else if (typeof value === "string") {
            raw[key] = value;
        }
    }
    const parsed = parseStageConfig(raw, secrets);
    if (!parsed.ok) {
        return `the stack's configuration does not validate: ${parsed.problems.join("; ")}`;
    }
    const c = parsed.config as typeof parsed.config & { disasterRecovery?: unknown };
    return { stage: c.stage, rpo: c.rpo, standbys: Object.keys(c.standbys), disasterRecoverySite: c.disasterRecovery !== undefined };
}

export function productionHasStandby(facts: StageFacts): string | undefined {
    if (facts.stage !== "production" || facts.disasterRecoverySite || facts.standbys.length > 0) {
        return undefined;
    }
    return "production has no standby: declare at least one under standbys (tier hot, warm or cold), or a disaster-recovery site's stack";
}

export function rpoWithinMaximum(facts: StageFacts, maxRpo: string): string | undefined {
    const rpo = parseDuration(facts.rpo);
    const max = parseDuration(maxRpo);
    if (max === undefined) {
        return `the policy's maxRpo ${JSON.stringify(maxRpo)} is not a duration (use e.g. "4h")`;
    }
    if (rpo !== undefined && rpo > max) {
        return `rpo ${facts.rpo} accepts more data loss than the declared maximum ${maxRpo} (lower rpo, or raise maxRpo in the policy configuration)`;
    }
    return undefined;
}

export function productionServersProtected(facts: StageFacts, resources: SeenResource[]): string[] {
    if (facts.stage !== "production") {
        return [];
    }
    return resources
        .filter((r) => SERVER_TYPES.includes(r.type) && !r.protect)
        .map((r) => `production server ${r.name} (${r.type}) is not protected: a replacement or destroy would delete its data`);
}
