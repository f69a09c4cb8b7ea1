// BackupPlan and restore through the real engine: a scheduled online backup at the first up, nothing
// repeated before the interval, restore as code (data back to the backup instant, safety backup
// listed, engine running again), a stale-backup warning on preview, and an unknown backup refused.
import { Stack } from "@pulumi/pulumi/automation";
import { destroyAndDispose, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";

jest.setTimeout(300_000);

let workspace: ThrowawayWorkspace;
let stack: Stack;
let businessUrl: string;
const documents = async () => (await queryUrl<{ reference: string }>(businessUrl, `SELECT "Reference" AS reference FROM "Business"."Document" ORDER BY 1`)).map((r) => r.reference);

beforeAll(async () => {
    workspace = throwawayWorkspace();
    stack = await stageStack(workspace, "dev", "development", {
        engine: { units: { "unit-a": {} }, primary: "unit-a", stepMs: 100 },
        backups: { interval: "1h", keep: 2 },
    });
});

afterAll(() => destroyAndDispose(stack, workspace));

test("the first up takes a verified online backup, listed in the outputs", async () => {
    await stack.up({ color: "never" });
    const outputs = await stageOutputs(stack);
    businessUrl = (outputs.connectionStrings as { business: string }).business;
    expect(outputs.backups).toMatchObject({ mode: "online", interval: "1h", stale: false, lastRestore: null });
    expect(outputs.backups!.backups.map((b) => [b.mode, b.safety, b.verified])).toEqual([["online", false, true]]);
    expect(outputs.backups!.backups[0].bytes).toBeGreaterThan(1_000_000);

    const preview = await stack.preview({ color: "never" });
    expect(preview.changeSummary.update ?? 0).toBe(0); // not due again before the interval
});

test("restore as code: the data returns to the backup instant, a safety backup is listed, the engine runs again", async () => {
    await queryUrl(businessUrl, `INSERT INTO "Business"."Document" ("Reference") VALUES ('after-the-backup')`);
    expect(await documents()).toEqual(["after-the-backup"]);
    const backup = (await stageOutputs(stack)).backups!.backups[0].id;

    await stack.setConfig("stagewise:restore", { value: JSON.stringify({ backup }) });
    const up = await stack.up({ color: "never" });
    expect(up.stdout).toContain("restore: taking a safety backup of the current state");
    expect(await documents()).toEqual([]);
    const outputs = await stageOutputs(stack);
    expect(outputs.backups!.lastRestore).toMatchObject({ backup, cleanup: { terminated: 0, restarted: 0 } });
    const safety = outputs.backups!.backups.find((b) => b.id === outputs.backups!.lastRestore!.safetyBackup);
    expect(safety).toMatchObject({ safety: true, mode: "offline", verified: true });
    expect(outputs.engine!.units["unit-a"].running).toBe(true);
});

test("a backup older than the schedule shows a warning on preview; an unknown backup is refused before anything changes", async () => {
    await stack.setConfig("stagewise:backups", { value: JSON.stringify({ interval: "1s", keep: 2 }) });
    await new Promise((r) => setTimeout(r, 1500));
    const preview = await stack.preview({ color: "never" });
    expect(preview.stdout).toMatch(/warning: the newest verified backup \(\d{8}T\d{9}Z\) is \d+ s old, more than the schedule's 1s: `pulumi up` takes a new one/);

    await stack.setConfig("stagewise:restore", { value: JSON.stringify({ backup: "20000101T000000000Z" }) });
    const message = await stack.preview({ color: "never" }).then(() => "preview succeeded", (err: Error) => err.message);
    expect(message).toMatch(/restore\.backup: backup 20000101T000000000Z does not exist \(backups: \d{8}T\d{9}Z, \d{8}T\d{9}Z\)/);
    await stack.removeConfig("stagewise:restore");
});
