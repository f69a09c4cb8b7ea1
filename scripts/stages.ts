// The main job: `pulumi up` (or destroy) of the stages, in order, through the Automation API, with the
// engine's progress streamed and each stage's outputs printed. Run through scripts/toolchain.sh.
//
//   ts-node scripts/stages.ts up|down|preview [stack...]
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");

/** Stacks the main job brings up, in order; `down` goes in reverse. */
export const MAIN_JOB_STACKS = ["dev"];

type Action = "up" | "down" | "preview";

async function selectStack(stackName: string): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack({ stackName, workDir: ROOT });
}

async function run(action: Action, stacks: string[]): Promise<void> {
    const ordered = action === "down" ? [...stacks].reverse() : stacks;
    for (const name of ordered) {
        const stack = await selectStack(name);
        const onOutput = (text: string) => process.stdout.write(text);
        console.log(`\n=== ${action} ${name} ===`);
        if (action === "up") {
            const result = await stack.up({ onOutput, color: "never" });
            const outputs = Object.fromEntries(
                Object.entries(result.outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]),
            );
            console.log(`\n=== outputs of ${name} ===\n${JSON.stringify(outputs, null, 2)}`);
        } else if (action === "down") {
            await stack.destroy({ onOutput, color: "never" });
        } else {
            await stack.preview({ onOutput, color: "never", diff: true });
        }
    }
}

async function main(): Promise<void> {
    const [action, ...stacks] = process.argv.slice(2);
    if (action !== "up" && action !== "down" && action !== "preview") {
        console.error("usage: stages.ts up|down|preview [stack...]");
        process.exit(2);
    }
    await run(action, stacks.length > 0 ? stacks : MAIN_JOB_STACKS);
}

main().catch((err: unknown) => {
    // The engine already printed the details above; one line says which step failed.
    const message = err instanceof Error ? err.message.split("\n").slice(-3).join("\n") : String(err);
    console.error(`\nstagewise: ${message}`);
    process.exit(1);
});
