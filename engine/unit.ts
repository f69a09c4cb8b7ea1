// One unit of the reference engine: a Node process that runs process instances against the engine's
// work database while it is the acting primary, heartbeats, and recovers state when it takes over.
//
//   STAGEWISE_ENGINE_UNIT=a STAGEWISE_ENGINE_WORK_URL=postgresql://... node engine/run.js
//
// Optional: STAGEWISE_ENGINE_STEP_MS (pause between steps, default 100), STAGEWISE_ENGINE_TAKEOVER_MS
// (silence after which a unit counts as gone, default 2000). The connection string comes in the
// environment, never on the command line (other users can read command lines).
import { Client } from "pg";
import { ACTING_LOCK_KEY, ControlRow, ENGINE_TABLES_SQL, persistsEveryStep, RecoveryLevel, shouldStepDown, shouldTryToAct } from "./model";

interface Instance {
    id: number;
    level: RecoveryLevel;
    steps: number;
    step: number;
}

function required(name: string): string {
    const value = process.env[name];
    if (!value) {
        console.error(`engine unit: ${name} is not set`);
        process.exit(2);
    }
    return value;
}

const me = required("STAGEWISE_ENGINE_UNIT");
const workUrl = required("STAGEWISE_ENGINE_WORK_URL");
const stepMs = Number(process.env.STAGEWISE_ENGINE_STEP_MS ?? 100);
const takeoverAfterMs = Number(process.env.STAGEWISE_ENGINE_TAKEOVER_MS ?? 2000);

const log = (message: string) => console.log(`${new Date().toISOString()} unit ${me}: ${message}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Unit {
    private acting = false;
    private generationWhenActing = 0;
    private instances = new Map<number, Instance>();
    private lastSeenId = 0;
    private stopping = false;

    constructor(private readonly db: Client) {}

    async start(): Promise<void> {
        // Units starting together race on CREATE ... IF NOT EXISTS (a duplicate type or relation): try again.
        for (let attempt = 1; ; attempt++) {
            try {
                await this.db.query(ENGINE_TABLES_SQL);
                break;
            } catch (err) {
                if (attempt >= 5 || !["23505", "42P07", "42710"].includes((err as { code?: string }).code ?? "")) {
                    throw err;
                }
                await sleep(100 * attempt);
            }
        }
        await this.db.query(
            `INSERT INTO "Work"."EngineUnit" ("Name", "Pid", "Heartbeat", "Acting") VALUES ($1, $2, now(), false)
             ON CONFLICT ("Name") DO UPDATE SET "Pid" = $2, "Heartbeat" = now(), "Acting" = false, "ActingSince" = NULL`,
            [me, process.pid],
        );
        log(`started (pid ${process.pid})`);
    }

    async run(): Promise<void> {
        while (!this.stopping) {
            await this.db.query(`UPDATE "Work"."EngineUnit" SET "Heartbeat" = now(), "Pid" = $2 WHERE "Name" = $1`, [me, process.pid]);
            const view = await this.view();
            if (view) {
                if (this.acting && shouldStepDown(view, this.generationWhenActing)) {
                    await this.stepDown(`${view.control.declaredPrimary} is declared primary`);
                } else if (!this.acting && shouldTryToAct(view)) {
                    await this.tryToAct(view.control);
                }
            }
            if (this.acting) {
                await this.work();
            }
            await sleep(stepMs);
        }
    }

    private async view() {
        const { rows } = await this.db.query(
            `SELECT c."DeclaredPrimary" AS declared, c."Generation"::int AS generation,
                    EXTRACT(EPOCH FROM now() - u."Heartbeat") * 1000 AS age
               FROM "Work"."EngineControl" c LEFT JOIN "Work"."EngineUnit" u ON u."Name" = c."DeclaredPrimary"`,
        );
        if (rows.length === 0) {
            return undefined; // nothing declared yet: nobody acts
        }
        const control: ControlRow = { declaredPrimary: rows[0].declared, generation: rows[0].generation };
        const age = rows[0].age === null ? Infinity : Number(rows[0].age);
        return { me, control, declaredPrimaryHeartbeatAgeMs: age, takeoverAfterMs };
    }

    private async tryToAct(control: ControlRow): Promise<void> {
        if (this.stopping) {
            return;
        }
        const started = Date.now();
        const { rows } = await this.db.query("SELECT pg_try_advisory_lock($1) AS got", [ACTING_LOCK_KEY]);
        if (!rows[0].got) {
            return; // another unit acts
        }
        this.acting = true;
        this.generationWhenActing = control.generation;
        const counts = await this.recover();
        const recovery = { at: new Date().toISOString(), ms: Date.now() - started, ...counts };
        await this.db.query(`UPDATE "Work"."EngineUnit" SET "Acting" = true, "ActingSince" = now(), "LastRecovery" = $2 WHERE "Name" = $1`, [
            me,
            JSON.stringify(recovery),
        ]);
        log(`acting as primary; recovered in ${recovery.ms} ms: ${counts.resumed} resumed, ${counts.restarted} restarted, ${counts.terminated} terminated`);
    }

    /** Normalizes what the previous primary left running, by each process's recovery level, in one transaction. */
    private async recover(): Promise<{ resumed: number; restarted: number; terminated: number }> {
        await this.db.query("BEGIN");
        try {
            const terminated = await this.db.query(
                `UPDATE "Work"."ProcessInstance" pi SET "State" = 'terminated', "UpdatedAt" = now()
                   FROM "Work"."ProcessDefinition" pd
                  WHERE pd."Name" = pi."Process" AND pi."State" = 'running' AND pd."RecoveryLevel" = 'none'`,
            );
            const restarted = await this.db.query(
                `UPDATE "Work"."ProcessInstance" pi
                    SET "Step" = 0, "UpdatedAt" = now(),
                        "Data" = jsonb_set(pi."Data", '{restarts}', to_jsonb(COALESCE((pi."Data"->>'restarts')::int, 0) + 1))
                   FROM "Work"."ProcessDefinition" pd
                  WHERE pd."Name" = pi."Process" AND pi."State" = 'running' AND pd."RecoveryLevel" = 'process'`,
            );
            await this.db.query("COMMIT");
            this.instances.clear();
            this.lastSeenId = 0;
            const loaded = await this.load();
            return { resumed: loaded - (restarted.rowCount ?? 0), restarted: restarted.rowCount ?? 0, terminated: terminated.rowCount ?? 0 };
        } catch (err) {
            await this.db.query("ROLLBACK").catch(() => undefined);
            throw err;
        }
    }

    /** Takes in the running instances not seen yet (new ones, or all after a takeover); returns how many. */
    private async load(): Promise<number> {
        const { rows } = await this.db.query(
            `SELECT pi."Id"::int AS id, pi."Step" AS step, pd."RecoveryLevel" AS level,
                    COALESCE(jsonb_array_length(pd."Definition"->'steps'), 1) AS steps
               FROM "Work"."ProcessInstance" pi JOIN "Work"."ProcessDefinition" pd ON pd."Name" = pi."Process"
              WHERE pi."State" = 'running' AND pi."Id" > $1 ORDER BY pi."Id" LIMIT 10000`,
            [this.lastSeenId],
        );
        for (const r of rows) {
            this.instances.set(r.id, { id: r.id, level: r.level, steps: r.steps, step: r.step });
            this.lastSeenId = Math.max(this.lastSeenId, r.id);
        }
        return rows.length;
    }

    /** One step of every instance; full-recovery instances write each step, the others only their end. */
    private async work(): Promise<void> {
        await this.load();
        for (const instance of [...this.instances.values()]) {
            instance.step += 1;
            const done = instance.step >= instance.steps;
            if (done || persistsEveryStep(instance.level)) {
                await this.db.query(
                    `UPDATE "Work"."ProcessInstance" SET "Step" = $2, "State" = $3, "UpdatedAt" = now(),
                            "Data" = jsonb_set("Data", '{ranBy}', to_jsonb($4::text))
                      WHERE "Id" = $1 AND "State" = 'running'`,
                    [instance.id, instance.step, done ? "completed" : "running", me],
                );
            }
            if (done) {
                this.instances.delete(instance.id);
            }
        }
    }

    private async stepDown(reason: string): Promise<void> {
        this.acting = false;
        this.instances.clear();
        await this.db.query("SELECT pg_advisory_unlock($1)", [ACTING_LOCK_KEY]);
        await this.db.query(`UPDATE "Work"."EngineUnit" SET "Acting" = false, "ActingSince" = NULL WHERE "Name" = $1`, [me]);
        log(`stopped acting: ${reason}`);
    }

    /** A clean stop: a backup may take over at once (no heartbeat left to wait out). */
    async stop(): Promise<void> {
        this.stopping = true;
        if (this.acting) {
            await this.stepDown("stopping");
        }
        await this.db.query(`UPDATE "Work"."EngineUnit" SET "Heartbeat" = NULL, "Pid" = NULL WHERE "Name" = $1`, [me]);
    }
}

async function main(): Promise<void> {
    const db = new Client({ connectionString: workUrl, application_name: `stagewise-engine-${me}` });
    await db.connect();
    const unit = new Unit(db);
    await unit.start();
    let stopped = false;
    const stop = () => {
        if (stopped) {
            return;
        }
        stopped = true;
        unit.stop()
            .catch((err) => log(`stop: ${(err as Error).message}`))
            .finally(() => db.end().finally(() => process.exit(0)));
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
    await unit.run();
}

main().catch((err) => {
    log(`failed: ${(err as Error).message}`);
    process.exit(1);
});
