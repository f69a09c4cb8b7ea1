// The reference engine's rules, without I/O: which unit acts, what each recovery level keeps in the
// database, and what a unit taking over does to the instances it finds (the second runbook).

export const RECOVERY_LEVELS = ["none", "process", "full"] as const;
export type RecoveryLevel = (typeof RECOVERY_LEVELS)[number];

/**
 * Whether a finished step is written to the database. Only `full` pays a write per step; `process`
 * and `none` write an instance when it starts and when it ends — the runbook's performance trade-off.
 */
export function persistsEveryStep(level: RecoveryLevel): boolean {
    return level === "full";
}

/** What a unit taking over does to an instance still `running` in the database, by its process's level. */
export function recoveryAction(level: RecoveryLevel): "resume" | "restart" | "terminate" {
    switch (level) {
        case "full":
            return "resume"; // from the last step written
        case "process":
            return "restart"; // from its start
        case "none":
            return "terminate";
    }
}

export interface ControlRow {
    /** The unit configuration declares primary. */
    declaredPrimary: string;
    /** Bumped by every `up` that (re)declares the primary: an acting unit that is not it steps down. */
    generation: number;
}

export interface UnitView {
    me: string;
    control: ControlRow;
    /** Milliseconds since the declared primary's last heartbeat (Infinity when it never beat). */
    declaredPrimaryHeartbeatAgeMs: number;
    /** After this long without a heartbeat, a unit counts as gone. */
    takeoverAfterMs: number;
}

/** A unit that is not acting tries to take the acting lock when it is the declared primary or that one is gone. */
export function shouldTryToAct(view: UnitView): boolean {
    return view.control.declaredPrimary === view.me || view.declaredPrimaryHeartbeatAgeMs > view.takeoverAfterMs;
}

/** An acting unit steps down once a newer declaration names another unit that is alive to take over. */
export function shouldStepDown(view: UnitView, generationWhenActing: number): boolean {
    return (
        view.control.declaredPrimary !== view.me &&
        view.control.generation !== generationWhenActing &&
        view.declaredPrimaryHeartbeatAgeMs <= view.takeoverAfterMs
    );
}

/** The engine's own tables in the work database (created by the engine itself, idempotently). */
export const ENGINE_TABLES_SQL = `
CREATE SCHEMA IF NOT EXISTS "Work";
CREATE TABLE IF NOT EXISTS "Work"."EngineControl" (
    "Id"              integer PRIMARY KEY DEFAULT 1 CHECK ("Id" = 1),
    "DeclaredPrimary" text NOT NULL,
    "Generation"      bigint NOT NULL DEFAULT 1,
    "UpdatedAt"       timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS "Work"."EngineUnit" (
    "Name"          text PRIMARY KEY,
    "Pid"           integer,
    "Heartbeat"     timestamptz,
    "Acting"        boolean NOT NULL DEFAULT false,
    "ActingSince"   timestamptz,
    "LastRecovery"  jsonb
);
`;

/** Advisory lock key of the acting unit: one unit acts at a time, and the lock dies with its session. */
export const ACTING_LOCK_KEY = 727_001;
