// Hostile paths in a pull request's configuration, through the real engine: `pulumi preview` (whose
// output is posted as a PR comment) refuses each one, naming the key, and prints nothing of any file.
// The program's project folder is this repository (Pulumi.yaml's `main:`), so the admin objects files
// are written into its admin/ folder for the test, and removed after it.
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { REPO_ROOT, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(300_000);

const MARKERS = { outside: "MARKER-OUTSIDE-91c2", broken: "MARKER-BROKEN-5d7e", foreign: "MARKER-FOREIGN-3a08" };
const tag = `hostile-${process.pid}`;
const linkFile = `admin/${tag}-link.json`;
const brokenFile = `admin/${tag}-broken.json`;
let workspace: ThrowawayWorkspace;

/** Everything a failed preview printed (stdout as it streamed, and the error, which holds stderr). */
async function failedPreview(stack: Stack): Promise<string> {
    let printed = "";
    const error = await stack.preview({ color: "never", onOutput: (text) => (printed += text) }).then(
        () => undefined,
        (err: Error) => err,
    );
    expect(error).toBeDefined();
    return `${printed}\n${error?.message}`;
}

beforeAll(() => {
    workspace = throwawayWorkspace();
    const outside = path.join(workspace.dir, "outside.json");
    fs.writeFileSync(outside, JSON.stringify({ processes: { [MARKERS.outside]: { version: 1 } } }));
    fs.symlinkSync(outside, path.join(REPO_ROOT, linkFile));
    fs.writeFileSync(path.join(REPO_ROOT, brokenFile), `${MARKERS.broken}: this is not JSON\n`);
});

afterAll(() => {
    for (const file of [linkFile, brokenFile]) {
        fs.rmSync(path.join(REPO_ROOT, file), { force: true });
    }
    workspace?.dispose();
});

test.each<[string, () => Promise<Stack>, () => string]>([
    [
        "admin objects behind a symbolic link to a file outside the project",
        () => stageStack(workspace, "link", "test", { adminObjects: linkFile }),
        () => `adminObjects: ${linkFile} leads outside the project's admin/ folder through a symbolic link; refusing to read it`,
    ],
    [
        "admin objects that are not JSON",
        () => stageStack(workspace, "broken", "test", { adminObjects: brokenFile }),
        () => `adminObjects: ${brokenFile} is not valid JSON (line 1, column 1)`,
    ],
    [
        "a data root that exists and holds someone else's file",
        async () => {
            fs.mkdirSync(path.join(workspace.dir, "data", "foreign"), { recursive: true });
            fs.writeFileSync(path.join(workspace.dir, "data", "foreign", "notes.txt"), `${MARKERS.foreign}\n`);
            return stageStack(workspace, "foreign", "test");
        },
        () =>
            `platform.dataRoot: ${path.join(workspace.dir, "data", "foreign")} already exists and holds files stagewise did not create; ` +
            "refusing to use it for stagewise/foreign (choose another platform.dataRoot, or empty that folder yourself)",
    ],
])("preview refuses %s, naming the key and printing nothing of any file", async (_, makeStack, message) => {
    const stack = await makeStack();
    const printed = await failedPreview(stack);
    expect(printed).toContain(message());
    for (const marker of Object.values(MARKERS)) {
        expect(printed).not.toContain(marker);
    }
});
