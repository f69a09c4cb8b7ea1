// Benchmark: the reference engine's throughput (process steps per second) at each recovery level —
// the runbook calls the level a performance parameter — and the state-recovery time of a unit taking
// over, measured on the same machine in the same run. Asserts nothing.
//
//   npm run bench -- engine      (BENCH_INSTANCES, default 200; BENCH_STEPS per process, default 20)
import * as fs from "fs";
import * as path from "path";
import { engineState, setPrimary, startEngineUnit, stopEngineUnit, unitPid, EngineUnitSpec } from "../components/engine/unitProcesses";
import { withClient } from "../components/postgres/pg";
import { defineProcesses, REFERENCE_ENGINE_COMMAND, workDatabase } from "../test/harness/engineUnits";
import { removeCluster, tempDir } from "../test/harness/postgres";

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 200);
const STEPS = Number(process.env.BENCH_STEPS ?? 20);

async function waitUntil(probe: () => Promise<boolean>, timeoutMs = 600_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await probe())) {
        if (Date.now() > deadline) {
            throw new Error("timed out");
        }
        await new Promise((r) => setTimeout(r, 20));
    }
}

async function main(): Promise<void> {
    const root = tempDir("stagewise-bench-engine-");
    const db = await workDatabase(root);
    const units: EngineUnitSpec[] = ["unit-a", "unit-b"].map((name) => ({
        name,
        command: REFERENCE_ENGINE_COMMAND,
        workUrl: db.url,
        stateDir: path.join(root, "engine"),
        stepMs: 0, // as fast as the database allows
        takeoverMs: 1000,
    }));
    try {
        await defineProcesses(db.url, STEPS);
        await startEngineUnit(units[0]);
        await setPrimary(db.url, "unit-a");
        const rows: string[] = [];
        for (const level of ["none", "process", "full"]) {
            const started = Date.now();
            await withClient(db.url, (c) => c.query(`INSERT INTO "Work"."ProcessInstance" ("Process") SELECT $1 FROM generate_series(1, $2::int)`, [level, INSTANCES]));
            await waitUntil(async () =>
                withClient(db.url, async (c) => (await c.query(`SELECT count(*)::int AS n FROM "Work"."ProcessInstance" WHERE "State" = 'running'`)).rows[0].n === 0),
            );
            const seconds = (Date.now() - started) / 1000;
            const writes = level === "full" ? INSTANCES * STEPS : INSTANCES; // plus the insert of each instance
            rows.push(`| ${level} | ${INSTANCES} x ${STEPS} | ${seconds.toFixed(2)} s | ${Math.round((INSTANCES * STEPS) / seconds)} | ${writes} |`);
        }

        // State recovery: a backup taking over from a killed primary with instances of every level in flight.
        await startEngineUnit(units[1]);
        await withClient(db.url, (c) =>
            c.query(`INSERT INTO "Work"."ProcessInstance" ("Process") SELECT p FROM unnest(ARRAY['none','process','full']) p, generate_series(1, $1::int)`, [INSTANCES]),
        );
        await new Promise((r) => setTimeout(r, 200));
        process.kill(unitPid(units[0])!, "SIGKILL");
        const killedAt = Date.now();
        await waitUntil(async () => (await engineState(db.url)).units["unit-b"].acting);
        const takeover = (Date.now() - killedAt) / 1000;
        const recovery = (await engineState(db.url)).units["unit-b"].lastRecovery!;

        console.log(`\nReference engine, ${new Date().toISOString().slice(0, 10)}: one acting unit, no pause between steps\n`);
        console.log("| recovery level | instances x steps | time | steps/s | database writes |");
        console.log("|---|---|---|---|---|");
        rows.forEach((r) => console.log(r));
        console.log(
            `\nTakeover after kill -9 of the primary with ${3 * INSTANCES} instances in flight: ${takeover.toFixed(2)} s until the backup acts ` +
                `(takeoverMs 1 s of silence, then the acting lock), of which state recovery ${recovery.ms} ms ` +
                `(${recovery.resumed} resumed, ${recovery.restarted} restarted, ${recovery.terminated} terminated).`,
        );
    } finally {
        for (const unit of units) {
            await stopEngineUnit(unit).catch(() => undefined);
        }
        removeCluster(db.loc);
        fs.rmSync(root, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
