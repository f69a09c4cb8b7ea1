// Engine units on this machine: detached processes (the reference engine in engine/, or the user's own
// command) started with the work database's connection string in their environment, each with a pid
// file and a log in the stage's engine folder; and the engine's control rows in the work database.
// Plain Node (no Pulumi), plain functions.
import * as path from "path";
import { ENGINE_TABLES_SQL } from "../../engine/model";
import { hostOf } from "../platform/local";
import { withClient } from "../postgres/pg";
import { waitUntil } from "../postgres/poll";

export interface EngineUnitSpec {
    /** The unit's stable name. */
    name: string;
    /** Program and arguments of a unit (the unit's name and the database come in its environment). */
    command: string[];
    /** libpq URL of the engine's work database (a secret: never on a command line). */
    workUrl: string;
    /** Folder of the units' pid files and logs. */
    stateDir: string;
    stepMs: number;
    takeoverMs: number;
}

const pidFileOf = (spec: Pick<EngineUnitSpec, "stateDir" | "name">) => path.join(spec.stateDir, `${spec.name}.pid`);
export const logFileOf = (spec: Pick<EngineUnitSpec, "stateDir" | "name">) => path.join(spec.stateDir, `${spec.name}.log`);

/** Units run as the deployer, on this machine (no PostgreSQL program of theirs). */
const unitHost = () => hostOf({ binDir: "" });

/** Running (a zombie waiting to be reaped counts as ended). */
function alive(pid: number): boolean {
    return unitHost().isAlive({ pid, startTime: null });
}

/** The unit's pid when its process runs and is still the one we started (a reused pid is not), else undefined. */
export function unitPid(spec: Pick<EngineUnitSpec, "stateDir" | "name">): number | undefined {
    let pid: number;
    try {
        pid = Number(unitHost().readText(pidFileOf(spec)).trim());
    } catch {
        return undefined;
    }
    return unitHost().environmentOf(pid)?.includes(`STAGEWISE_ENGINE_UNIT=${spec.name}`) ? pid : undefined;
}

function lastLines(file: string, count: number): string {
    try {
        return unitHost().readText(file).trimEnd().split("\n").slice(-count).join("\n");
    } catch {
        return "(no log)";
    }
}

/** Starts the unit and waits until it heartbeats in the work database; a unit already running is left as it is. */
export async function startEngineUnit(spec: EngineUnitSpec): Promise<number> {
    const running = unitPid(spec);
    if (running !== undefined) {
        return running;
    }
    const host = unitHost();
    host.makeFolder(spec.stateDir, { mode: 0o777, owned: false });
    const [program, ...args] = spec.command;
    // Detached: it outlives the deployment that started it.
    const { pid } = host.startDetached(program, args, {
        asServerUser: false,
        logFile: logFileOf(spec),
        logMode: 0o666,
        what: `engine unit ${spec.name}`,
        cwd: spec.stateDir,
        env: {
            ...process.env,
            STAGEWISE_ENGINE_UNIT: spec.name,
            STAGEWISE_ENGINE_WORK_URL: spec.workUrl,
            STAGEWISE_ENGINE_STEP_MS: String(spec.stepMs),
            STAGEWISE_ENGINE_TAKEOVER_MS: String(spec.takeoverMs),
        },
    });
    host.writeFile(pidFileOf(spec), `${pid}\n`, { mode: 0o644, owned: false });
    const beating = () =>
        withClient(spec.workUrl, async (c) => {
            const { rows } = await c.query(`SELECT 1 FROM "Work"."EngineUnit" WHERE "Name" = $1 AND "Pid" = $2 AND "Heartbeat" IS NOT NULL`, [spec.name, pid]);
            return rows.length === 1;
        }).catch(() => false); // the table appears with the first unit
    await waitUntil(beating, {
        timeoutMs: 30_000,
        intervalMs: 100,
        stopWhen: () => !alive(pid),
        failure: () => `engine unit ${spec.name} did not start (no heartbeat within 30 s); the end of its log ${logFileOf(spec)}:\n${lastLines(logFileOf(spec), 10)}`,
    });
    return pid;
}

/** Stops the unit cleanly (SIGTERM: it steps down and says so), killing it after 15 s; no-op when it is not running. */
export async function stopEngineUnit(spec: Pick<EngineUnitSpec, "stateDir" | "name">): Promise<void> {
    const pid = unitPid(spec);
    if (pid !== undefined) {
        unitHost().signal(pid, "SIGTERM");
        await waitUntil(() => unitPid(spec) === undefined, { timeoutMs: 15_000, intervalMs: 100 }).catch(() => undefined); // then it is killed
        if (unitPid(spec) !== undefined) {
            unitHost().signal(pid, "SIGKILL");
        }
    }
    unitHost().remove(pidFileOf(spec));
}

/** A unit silent for this long is not acting, whatever its row says. */
const STALE_HEARTBEAT_MS = 30_000;

export interface UnitState {
    pid: number | null;
    /** Milliseconds since its last heartbeat; null when it stopped cleanly or never beat. */
    heartbeatAgeMs: number | null;
    acting: boolean;
    lastRecovery: { at: string; ms: number; resumed: number; restarted: number; terminated: number } | null;
}

export interface EngineState {
    declaredPrimary: string | null;
    generation: number;
    units: Record<string, UnitState>;
}

/** The engine's control rows, as the units report them. */
export async function engineState(workUrl: string): Promise<EngineState> {
    return withClient(workUrl, async (c) => {
        const control = await c.query(`SELECT "DeclaredPrimary" AS p, "Generation"::int AS g FROM "Work"."EngineControl"`).catch(() => ({ rows: [] }));
        const units = await c
            .query(
                `SELECT "Name" AS name, "Pid" AS pid, "Acting" AS acting, "LastRecovery" AS recovery,
                        (EXTRACT(EPOCH FROM now() - "Heartbeat") * 1000)::int AS age
                   FROM "Work"."EngineUnit" ORDER BY "Name"`,
            )
            .catch(() => ({ rows: [] as Record<string, unknown>[] }));
        return {
            declaredPrimary: control.rows[0]?.p ?? null,
            generation: control.rows[0]?.g ?? 0,
            units: Object.fromEntries(
                units.rows.map((r) => [
                    r.name as string,
                    {
                        pid: (r.pid as number | null) ?? null,
                        heartbeatAgeMs: (r.age as number | null) ?? null,
                        // A row restored from another site, or left by a unit killed long ago, says nothing about now.
                        acting: Boolean(r.acting) && r.age !== null && (r.age as number) < STALE_HEARTBEAT_MS,
                        lastRecovery: (r.recovery as UnitState["lastRecovery"]) ?? null,
                    },
                ]),
            ),
        };
    });
}

/**
 * Set Primary: declares `primary` (a new generation, so a unit acting against an older declaration steps
 * down) and waits until it acts, having recovered the state the previous primary left.
 */
export async function setPrimary(workUrl: string, primary: string, timeoutMs = 60_000): Promise<UnitState> {
    await withClient(workUrl, async (c) => {
        await c.query(ENGINE_TABLES_SQL);
        await c.query(
            `INSERT INTO "Work"."EngineControl" ("Id", "DeclaredPrimary") VALUES (1, $1)
             ON CONFLICT ("Id") DO UPDATE SET "DeclaredPrimary" = $1, "Generation" = "EngineControl"."Generation" + 1, "UpdatedAt" = now()`,
            [primary],
        );
    });
    let state: Awaited<ReturnType<typeof engineState>> | undefined;
    const acts = async () => {
        state = await engineState(workUrl);
        return state.units[primary]?.acting ? state.units[primary] : undefined;
    };
    const failure = () => {
        const acting = Object.entries(state?.units ?? {}).find(([, u]) => u.acting)?.[0];
        return `engine unit ${primary} did not take over within ${timeoutMs / 1000} s (${acting ? `${acting} still acts` : "no unit acts"}); is it running?`;
    };
    return waitUntil(acts, { timeoutMs, intervalMs: 100, failure });
}
