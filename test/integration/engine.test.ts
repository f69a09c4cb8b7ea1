// The reference engine (engine/) against a real work database: two units, Set Primary, and a backup
// taking over after the primary is killed with kill -9 — each recovery level behaving as the runbook says.
import * as fs from "fs";
import * as path from "path";
import { engineState, setPrimary, startEngineUnit, stopEngineUnit, unitPid, EngineUnitSpec } from "../../components/engine/unitProcesses";
import { withClient } from "../../components/postgres/pg";
import { defineProcesses, REFERENCE_ENGINE_COMMAND, workDatabase, WorkDatabase } from "../harness/engineUnits";
import { removeCluster, tempDir } from "../harness/postgres";

jest.setTimeout(180_000);

let root: string;
let db: WorkDatabase;
const units: Record<string, EngineUnitSpec> = {};

const waitFor = async <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${what}`);
        }
        await new Promise((r) => setTimeout(r, 100));
    }
};

const instances = (url: string) =>
    withClient(url, async (c) => (await c.query(`SELECT "Id"::int AS id, "Process" AS process, "State" AS state, "Step" AS step, "Data" AS data FROM "Work"."ProcessInstance" ORDER BY "Id"`)).rows);

beforeAll(async () => {
    root = tempDir("stagewise-engine-");
    db = await workDatabase(root);
    await defineProcesses(db.url, 12);
    for (const name of ["unit-a", "unit-b"]) {
        units[name] = { name, command: REFERENCE_ENGINE_COMMAND, workUrl: db.url, stateDir: path.join(root, "engine"), stepMs: 150, takeoverMs: 1000 };
    }
});

afterAll(async () => {
    for (const spec of Object.values(units)) {
        await stopEngineUnit(spec).catch(() => undefined);
    }
    removeCluster(db.loc);
    fs.rmSync(root, { recursive: true, force: true });
});

test("the declared primary acts; the backup only heartbeats", async () => {
    await startEngineUnit(units["unit-a"]);
    await startEngineUnit(units["unit-b"]);
    const a = await setPrimary(db.url, "unit-a");
    expect(a.acting).toBe(true);
    expect(a.lastRecovery).toMatchObject({ resumed: 0, restarted: 0, terminated: 0 });
    const state = await engineState(db.url);
    expect(state.declaredPrimary).toBe("unit-a");
    expect(state.units["unit-b"].acting).toBe(false);
});

test("kill -9 of the primary: the backup takes over; full resumes, process restarts, none ends terminated", async () => {
    await withClient(db.url, (c) => c.query(`INSERT INTO "Work"."ProcessInstance" ("Process") VALUES ('full'), ('process'), ('none')`));
    // Let the full-recovery instance write a few steps.
    const stepAtKill = await waitFor("the full instance to reach step 3", async () => {
        const full = (await instances(db.url)).find((i) => i.process === "full");
        return full && full.step >= 3 ? (full.step as number) : undefined;
    });
    process.kill(unitPid(units["unit-a"])!, "SIGKILL");

    const b = await waitFor("unit-b to act", async () => {
        const unit = (await engineState(db.url)).units["unit-b"];
        return unit.acting ? unit : undefined;
    });
    expect(b.lastRecovery).toMatchObject({ resumed: 1, restarted: 1, terminated: 1 });

    const done = await waitFor("full and process instances to complete", async () => {
        const rows = await instances(db.url);
        return rows.every((r) => r.state !== "running") ? rows : undefined;
    });
    expect(done.map((r) => [r.process, r.state, r.step, r.data.restarts ?? 0, r.data.ranBy ?? null])).toEqual([
        ["full", "completed", 12, 0, "unit-b"],
        ["process", "completed", 12, 1, "unit-b"], // started again from its start, once
        ["none", "terminated", 0, 0, null],
    ]);
    expect(stepAtKill).toBeGreaterThanOrEqual(3);
});

test("the old primary comes back as a backup; Set Primary makes it act again and the other steps down", async () => {
    await startEngineUnit(units["unit-a"]);
    let state = await engineState(db.url);
    expect([state.units["unit-a"].acting, state.units["unit-b"].acting]).toEqual([false, true]);

    const a = await setPrimary(db.url, "unit-a");
    expect(a.acting).toBe(true);
    state = await engineState(db.url);
    expect(state.units["unit-b"].acting).toBe(false);
    expect(fs.readFileSync(path.join(root, "engine", "unit-b.log"), "utf8")).toMatch(/unit unit-b: stopped acting: unit-a is declared primary/);
});

test("a clean stop hands over at once: the backup acts without waiting out the heartbeat", async () => {
    await stopEngineUnit(units["unit-a"]);
    const state = await waitFor("unit-b to act", async () => {
        const s = await engineState(db.url);
        return s.units["unit-b"].acting ? s : undefined;
    }, 10_000);
    expect(state.units["unit-a"]).toMatchObject({ pid: null, heartbeatAgeMs: null, acting: false });
});
