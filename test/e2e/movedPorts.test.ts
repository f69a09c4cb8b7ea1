// The embedded default ports moved out of the ephemeral range; a stack deployed on an old default keeps
// its port (a new port would replace the server), and the main job says so.
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as path from "path";
import { downStages, ensureStacks } from "../../scripts/stages";
import { MOVED_DEFAULT_PORTS } from "../../scripts/movedPorts";
import { REPO_ROOT, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
const log: string[] = [];
const opts = () => ({ workDir: workspace.projectDir, envVars: workspace.envVars, onOutput: (t: string) => void log.push(t) });
const project = () => LocalWorkspace.create({ workDir: workspace.projectDir, envVars: workspace.envVars });

/** The committed production stack file, with the servers as given and the data root in the workspace. */
async function prodSettings(port: number) {
    const committed = (await (await LocalWorkspace.create({ workDir: REPO_ROOT })).stackSettings("prod")).config ?? {};
    return {
        config: {
            ...committed,
            "stagewise:servers": { "prod-db": { port } },
            "stagewise:platform": { kind: "local", dataRoot: path.join(workspace.dir, "data", "prod") },
        },
    };
}

beforeAll(() => {
    workspace = throwawayWorkspace();
});
afterAll(async () => {
    await downStages(["prod"], opts()).catch(() => undefined);
    workspace?.dispose();
});

test("the embedded stacks' default ports lie below the ephemeral range, and the moved ones are listed", async () => {
    const repo = await LocalWorkspace.create({ workDir: REPO_ROOT });
    for (const [stack, servers] of Object.entries(MOVED_DEFAULT_PORTS)) {
        const committed = (await repo.stackSettings(stack)).config?.["stagewise:servers"] as Record<string, { port: number }>;
        expect(Object.fromEntries(Object.entries(committed).map(([name, s]) => [name, s.port]))).toEqual(
            Object.fromEntries(Object.entries(servers).map(([name, moved]) => [name, moved.to])),
        );
        for (const moved of Object.values(servers)) {
            expect([moved.from >= 32768, moved.to < 20000]).toEqual([true, true]);
        }
    }
});

test("a production deployed on the old default keeps its port: the stack file is set back, the preview changes nothing", async () => {
    const old = MOVED_DEFAULT_PORTS.prod["prod-db"];
    await (await project()).saveStackSettings("prod", await prodSettings(old.from));
    const prod = (await ensureStacks(["prod"], opts())).get("prod")!;
    await prod.up({ color: "never" });
    expect(log.join("")).not.toContain("stays");

    // The checkout moves to the new default, as a pull of this version does.
    await (await project()).saveStackSettings("prod", await prodSettings(old.to));
    log.length = 0;
    await ensureStacks(["prod"], opts());
    expect(log.join("")).toContain(
        `prod: servers.prod-db.port stays ${old.from}, where its deployed server listens (the default moved to ${old.to}, ` +
            `outside the kernel's ephemeral port range; Pulumi.prod.yaml now says ${old.from} — moving to ${old.to} replaces the server, see the README)\n`,
    );
    expect((await (await project()).stackSettings("prod")).config?.["stagewise:servers"]).toEqual({ "prod-db": { port: old.from } });
    const preview = await prod.preview({ color: "never", diff: true });
    expect(preview.changeSummary.replace ?? 0).toBe(0);
    expect(preview.stdout).not.toMatch(/port.*15432/);

    // Run again, nothing more to keep.
    log.length = 0;
    await ensureStacks(["prod"], opts());
    expect(log.join("")).not.toContain("stays");
});
