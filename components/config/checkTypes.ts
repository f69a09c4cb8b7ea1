// What the cross-field checks read and return. They read a configuration by its structure
// (CheckedConfig), not by the schema's types: the checks and the schema do not import each other.
import type { Members } from "./helpers";

export interface PathProblem {
    path: (string | number)[];
    message: string;
}

/** What a rule may know beyond the configuration: which stack it is, and when. */
export interface CheckContext {
    /** The stack being checked, as organization/project/stack. */
    stack?: { organization: string; project: string; stack: string };
    /** @default the time of the check */
    now?: Date;
}

/** A standby as the rules read it. */
export type StandbyFacts = ({ tier: "hot"; port: number; synchronous: boolean } | { tier: "warm"; port: number } | { tier: "cold" }) & { host?: string };

/** One instant of a DR cutover, as the rules read it. */
export interface CutoverFacts {
    targetTime?: string;
    targetName?: string;
    latest?: true;
    disasterTime?: string;
    margin?: string;
}

/** What the rules read of a configuration whose fields each passed their own schema: every key of every shape. */
export interface CheckedConfig extends Members {
    stage: string;
    servers: Record<string, Members["servers"][string] & { host?: string }>;
    /** The other machines members run on, by name. */
    hosts?: Record<string, { lost?: boolean }>;
    platform: { kind: string };
    engine: { databases: Record<string, string>; units: Record<string, unknown>; primary?: string };
    rpo: string;
    shipping?: { logBackupInterval: string; shipInterval: string; applyDelay: string };
    production?: object;
    identity?: object;
    standbys: Record<string, StandbyFacts>;
    primary?: string;
    copy?: object;
    promotion?: object;
    backups?: { mode?: "offline" | "online" };
    restore?: object;
    adminObjects: string;
    locks: Record<string, object>;
    superuserPassword?: string;
    applicationPassword?: string;
    licenseKey?: string;
    disasterRecovery?: { of: string };
    cutover?: CutoverFacts;
}

export interface CrossCheck {
    /** What the rule checks, for tests and readers. */
    name: string;
    /** Top-level keys it reads; it runs only when all of them are valid. */
    needs: readonly (keyof CheckedConfig)[];
    check(config: CheckedConfig, context: CheckContext): PathProblem[];
}
