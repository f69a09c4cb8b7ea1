// The real Pulumi engine, through the Automation API, on a throwaway local backend: up, a second up
// with no changes, a preview of one config change, a rejected bad config, and a clean destroy.
import * as fs from "fs";
import * as path from "path";
import { previewComment } from "../../scripts/stages";
import { freePort, throwawayProject, ThrowawayProject } from "../harness/engine";

jest.setTimeout(300_000);

let project: ThrowawayProject;
let dataRoot: string;

beforeAll(async () => {
    const port = await freePort();
    project = await throwawayProject("e2e", {
        "stagewise:stage": "development",
        "stagewise:servers": JSON.stringify({ "e2e-db": { port } }),
        "stagewise:platform": "{}", // replaced below, once the folder is known
    });
    dataRoot = path.join(project.dir, "data");
    await project.stack.setConfig("stagewise:platform", { value: JSON.stringify({ kind: "local", dataRoot }) });
});

afterAll(async () => {
    await project?.dispose();
});

// The stack; the StagingStage component; the Stage, its DataRoot, PostgreSQL check and server; the
// Coordination component; the AdminObjects component and the four objects of admin/objects.json.
const RESOURCES = 12;

test("up creates the stage's resources and exports its outputs", async () => {
    const result = await project.stack.up({ color: "never" });
    expect(result.summary.result).toBe("succeeded");
    expect(result.summary.resourceChanges).toEqual({ create: RESOURCES });
    expect(result.outputs.stage.value).toBe("development");
    expect(result.outputs.platform.value).toBe("local");
    expect(result.outputs.dataRoot.value).toBe(dataRoot);
    expect(result.outputs.postgresVersion.value).toMatch(/^postgres \(PostgreSQL\) \d+\.\d+/);
    const marker = JSON.parse(fs.readFileSync(path.join(dataRoot, ".stagewise-data-root.json"), "utf8"));
    expect(marker).toMatchObject({ owner: "stagewise/e2e", stage: "development" });
});

test("a second up reports no changes", async () => {
    const result = await project.stack.up({ color: "never" });
    expect(result.summary.resourceChanges).toEqual({ same: RESOURCES });
});

test("preview after a config change reports exactly that change, as the pull-request comment", async () => {
    await project.stack.setConfig("stagewise:stage", { value: "test" });
    try {
        // What `npm run preview` prints and the pull-request workflow posts.
        const markdown = await previewComment(project.stack);
        const lines = markdown.split("\n");
        expect(lines.slice(0, 5)).toEqual(["#### :tropical_drink: `preview` on stagewise/e2e", "", "<details>", "<summary>Pulumi report</summary>", "<pre>"]);
        expect(lines.slice(-3)).toEqual(["</pre>", "</details>", ""]);
        expect(markdown).toMatch(/~ pulumi-nodejs:dynamic\/stagewise:DataRoot: \(update\)/);
        expect(markdown).toMatch(/~ stage\s*: "development" => "test"/);
        expect(markdown).toMatch(/Resources:\n\s+~ 1 to update\n\s+11 unchanged\n/);
    } finally {
        await project.stack.setConfig("stagewise:stage", { value: "development" });
    }
});

test("bad configuration stops the program before any resource, listing every problem without a stack trace", async () => {
    await project.stack.setConfig("stagewise:rpo", { value: "90x" });
    await project.stack.setConfig("stagewise:stage", { value: "staging" });
    try {
        const error: Error = await project.stack.preview({ color: "never" }).then(
            () => { throw new Error("preview succeeded"); },
            (err: Error) => err,
        );
        expect(error.message).toContain('Configuration of stack "e2e" (Pulumi.e2e.yaml, namespace stagewise) has 2 problems:');
        expect(error.message).toContain('- stage: "staging" is not a stage kind (use one of: production, development, test)');
        expect(error.message).toContain('- rpo: "90x" is not a duration (use e.g. "15m", "4h", "1h30m")');
        expect(error.message).not.toMatch(/\n\s+at .+\(.+:\d+:\d+\)/); // no stack frames
    } finally {
        await project.stack.removeConfig("stagewise:rpo");
        await project.stack.setConfig("stagewise:stage", { value: "development" });
    }
});

test("destroy leaves no resources, no data root and no stray processes", async () => {
    const result = await project.stack.destroy({ color: "never" });
    expect(result.summary.resourceChanges).toEqual({ delete: RESOURCES });
    const state = await project.stack.exportStack();
    expect(state.deployment.resources ?? []).toEqual([]);
    expect(fs.existsSync(dataRoot)).toBe(false);
    expect(project.strayProcesses()).toEqual([]);
});
