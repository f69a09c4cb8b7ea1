// Administrative locks and lock bindings across real stacks: staging stages find production through
// a StackReference, bind to it, and contend for its locks.
import { Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import { consumerStack, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
const stacks: Record<string, Stack> = {};
const PRODUCTION = "organization/stagewise/prod";



const failure = (p: Promise<unknown>) => p.then(() => { throw new Error("expected a failure"); }, (err: Error) => err.message);

beforeAll(async () => {
    workspace = throwawayWorkspace();
    stacks.prod = await stageStack(workspace, "prod", "production");
    stacks.test = await stageStack(workspace, "test", "test", { production: { stack: PRODUCTION } });
    stacks.dev = await stageStack(workspace, "dev", "development", { production: { stack: PRODUCTION }, locks: { copy: { reason: "copy production to dev" } } });
});

afterAll(async () => {
    for (const name of ["dev", "test", "prod"]) {
        await stacks[name]?.destroy({ color: "never" }).catch(() => undefined);
    }
    workspace?.dispose();
});

test("a staging stage refuses to deploy while production has no outputs, saying so", async () => {
    const message = await failure(stacks.test.up({ color: "never" }));
    expect(message).toContain(`production stack ${PRODUCTION} has no outputs: bring production up first`);
    expect(message).not.toMatch(/\n\s+at .+:\d+:\d+\)/);
});

test("with production up, each staging stage binds its server to production, and production lists them", async () => {
    await stacks.prod.up({ color: "never" });
    await stacks.test.up({ color: "never" });
    await stacks.dev.up({ color: "never" });
    expect((await stageOutputs(stacks.test)).boundTo).toEqual({ stack: PRODUCTION, servers: ["test-db"] });
    const dev = await stageOutputs(stacks.dev);
    expect(dev.locks.copy).toMatchObject({ scope: "copy", holder: "stagewise/dev", reason: "copy production to dev" });

    const preview = await stacks.prod.preview({ color: "never" });
    expect(preview.changeSummary.update).toBe(1); // the registry sees two new bindings
    await stacks.prod.up({ color: "never" });
    const prod = await stageOutputs(stacks.prod);
    expect(prod.boundStagingServers?.map((b) => `${b.stagingStack} ${b.stagingServer} ${b.stage}`)).toEqual([
        "stagewise/dev dev-db development",
        "stagewise/test test-db test",
    ]);
});

test("another pipeline's stack reads production's outputs through a StackReference, checked against the contract", async () => {
    const prod = await stageOutputs(stacks.prod);
    const consumer = await consumerStack(workspace, "pipeline", PRODUCTION);
    const result = await consumer.up({ color: "never" });
    const work = prod.databases.work;
    expect(result.outputs.workDatabase).toEqual({ value: `127.0.0.1:${work.port}/work`, secret: false });
    expect(result.outputs.productionStage.value).toBe(`production on ${prod.postgresVersion}`);
    expect(result.outputs.workConnectionString).toEqual({ value: (prod.connectionStrings as { work: string }).work, secret: true });
});

test("a lock another stack holds is refused at once, naming the holder", async () => {
    await stacks.test.setConfig("stagewise:locks", { value: JSON.stringify({ copy: { reason: "copy production to test" } }) });
    const message = await failure(stacks.test.up({ color: "never" }));
    expect(message).toMatch(/administrative lock "copy" is held by stagewise\/dev \(development\) since \S+: copy production to dev\. Wait for it to be released, or, if stagewise\/dev no longer exists, break it explicitly with breakHeldBy: "stagewise\/dev"/);
});

test("destroying the holder releases its lock and its binding; the other stage then takes the lock", async () => {
    await stacks.dev.destroy({ color: "never" });
    await stacks.test.up({ color: "never" });
    expect((await stageOutputs(stacks.test)).locks.copy.holder).toBe("stagewise/test");
    await stacks.prod.up({ color: "never" });
    expect((await stageOutputs(stacks.prod)).boundStagingServers?.map((b) => b.stagingServer)).toEqual(["test-db"]);
});

test("a lock whose holder stack is gone is broken only by naming that holder", async () => {
    // test's state disappears without its lock being released (a deleted stack).
    childProcess.execFileSync("pulumi", ["stack", "rm", "test", "--force", "--yes"], {
        cwd: workspace.projectDir,
        env: { ...process.env, ...workspace.envVars },
        stdio: "ignore",
    });
    delete stacks.test;
    const dev = stacks.dev;
    await dev.setConfig("stagewise:locks", { value: JSON.stringify({ copy: { reason: "copy production to dev" } }) });
    expect(await failure(dev.up({ color: "never" }))).toContain('administrative lock "copy" is held by stagewise/test (test)');
    await dev.setConfig("stagewise:locks", { value: JSON.stringify({ copy: { reason: "copy production to dev", breakHeldBy: "stagewise/test" } }) });
    await dev.up({ color: "never" });
    expect((await stageOutputs(dev)).locks.copy.holder).toBe("stagewise/dev");
});
