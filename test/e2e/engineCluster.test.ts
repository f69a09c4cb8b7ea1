// EngineCluster through the real engine: units as processes, Set Primary by changing engine.primary,
// a killed unit shown by preview and brought back by `up`, and a destroy that leaves no process behind.
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { engineState } from "../../components/engine/unitProcesses";
import { destroyAndDispose, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(300_000);

let workspace: ThrowawayWorkspace;
let stack: Stack;
const engine = (primary: string) => ({ units: { "unit-a": {}, "unit-b": {} }, primary, stepMs: 100, takeoverMs: 1000 });

beforeAll(async () => {
    workspace = throwawayWorkspace();
    stack = await stageStack(workspace, "dev", "development", { engine: engine("unit-a") });
});

afterAll(() => destroyAndDispose(stack, workspace));

test("up starts both units; the declared primary acts and reports its state recovery", async () => {
    await stack.up({ color: "never" });
    const outputs = await stageOutputs(stack);
    expect(outputs.engine).toMatchObject({ declaredPrimary: "unit-a", actingPrimary: "unit-a", lastRecovery: { unit: "unit-a", resumed: 0, restarted: 0, terminated: 0 } });
    expect(Object.values(outputs.engine!.units).map((u) => u.running)).toEqual([true, true]);
});

test("changing engine.primary shows in preview and `up` performs Set Primary", async () => {
    await stack.setConfig("stagewise:engine", { value: JSON.stringify(engine("unit-b")) });
    const preview = await stack.preview({ color: "never", diff: true });
    expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/stagewise:EnginePrimary: \(update\)/);
    expect(preview.stdout).toMatch(/~ primary\s*: "unit-a" => "unit-b"/);
    expect(preview.changeSummary.update).toBe(1);

    const up = await stack.up({ color: "never" });
    expect(up.stdout).toContain("engine: declaring unit-b primary; waiting until it acts");
    const outputs = await stageOutputs(stack);
    expect(outputs.engine).toMatchObject({ declaredPrimary: "unit-b", actingPrimary: "unit-b", lastRecovery: { unit: "unit-b" } });
    const log = fs.readFileSync(path.join(workspace.dir, "data", "dev", "engine", "unit-a.log"), "utf8");
    expect(log).toMatch(/unit unit-a: stopped acting: unit-b is declared primary/);
});

test("kill -9 of the acting unit: the backup takes over, preview shows the drift, `up` restores the declared primary", async () => {
    const before = await stageOutputs(stack);
    const killed = before.engine!.units["unit-b"].pid!;
    process.kill(killed, "SIGKILL");
    const workUrl = (before.connectionStrings as { work: string }).work;
    const deadline = Date.now() + 30_000;
    while ((await engineState(workUrl)).units["unit-a"].acting !== true && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 100));
    }
    expect((await engineState(workUrl)).units["unit-a"].acting).toBe(true); // the backup took over on its own

    const preview = await stack.preview({ color: "never" });
    expect(preview.changeSummary.update).toBe(2); // the dead unit, and the primary acting against the declaration
    await stack.up({ color: "never" });
    const after = await stageOutputs(stack);
    expect(after.engine!.actingPrimary).toBe("unit-b");
    expect(after.engine!.units["unit-b"].running).toBe(true);
    expect(after.engine!.units["unit-b"].pid).not.toBe(killed);
});

test("destroy stops every unit", async () => {
    await stack.destroy({ color: "never" });
    expect(workspace.strayProcesses().filter((p) => p.includes("engine/run.js"))).toEqual([]);
});
