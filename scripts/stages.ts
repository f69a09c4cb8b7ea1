// The main job: `pulumi up` of the stages in order (production first: staging stages bind to it),
// or their destruction in reverse, through the Automation API, with the engine's progress streamed
// and each stage's outputs printed. Run through scripts/toolchain.sh (npm start / npm run down).
//
//   ts-node scripts/stages.ts up|down|preview [stack...]
import { LocalWorkspace, OutputMap, Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as path from "path";
import { previewCommentMarkdown } from "../pipelines/previewComment";
import { keepDeployedPorts } from "./movedPorts";

/** Stacks the main job brings up, in order; `down` goes in reverse. */
export const MAIN_JOB_STACKS = ["prod", "test", "dev"];

export interface StageRunOptions {
    /** Folder holding Pulumi.yaml and the stack files. */
    workDir: string;
    /** Extra environment for the engine (backend, passphrase). */
    envVars?: Record<string, string>;
    /** Where the engine's progress goes. @default process.stdout */
    onOutput?: (text: string) => void;
}

async function selectStack(stackName: string, opts: StageRunOptions): Promise<Stack> {
    return LocalWorkspace.createOrSelectStack({ stackName, workDir: opts.workDir }, { envVars: opts.envVars });
}

/**
 * Creates the main job's stacks (and `stacks`) that do not exist yet, before any of them runs: on a
 * first run production's promotion gate reads the test stack, which must exist (its lack of outputs
 * then means "nothing verified yet") even though test comes up after production. Returns them by name.
 */
export async function ensureStacks(stacks: string[], opts: StageRunOptions): Promise<Map<string, Stack>> {
    const selected = new Map<string, Stack>();
    const onOutput = opts.onOutput ?? ((text: string) => process.stdout.write(text));
    for (const name of new Set([...MAIN_JOB_STACKS, ...stacks])) {
        const stack = await selectStack(name, opts);
        for (const line of await keepDeployedPorts(stack, name)) {
            onOutput(`${line}\n`);
        }
        selected.set(name, stack);
    }
    return selected;
}

/** Outputs as other pipelines see them without --show-secrets. */
export function publicOutputs(outputs: OutputMap): Record<string, unknown> {
    return Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
}

/** Brings the stacks up in order; returns each one's outputs (secrets hidden). */
export async function upStages(stacks: string[], opts: StageRunOptions): Promise<Record<string, Record<string, unknown>>> {
    const onOutput = opts.onOutput ?? ((text: string) => process.stdout.write(text));
    const results: Record<string, Record<string, unknown>> = {};
    const selected = await ensureStacks(stacks, opts);
    for (const [i, name] of stacks.entries()) {
        onOutput(`\n=== [${i + 1}/${stacks.length}] pulumi up ${name} ===\n`);
        const result = await selected.get(name)!.up({ onOutput, color: "never" });
        results[name] = publicOutputs(result.outputs);
    }
    // Staging stages bind to production as they come up: production's outputs list them after one more up.
    const [first] = stacks;
    if (stacks.length > 1 && results[first]?.stage === "production") {
        onOutput(`\n=== pulumi up ${first} again: record the staging servers bound to it ===\n`);
        const result = await selected.get(first)!.up({ onOutput, color: "never" });
        results[first] = publicOutputs(result.outputs);
    }
    return results;
}

/**
 * Destroys the stacks in reverse order. Production servers are protected against accidental deletion;
 * `down` is the deliberate teardown of these stacks, so it lifts that protection first, and says so.
 */
export async function downStages(stacks: string[], opts: StageRunOptions): Promise<void> {
    const onOutput = opts.onOutput ?? ((text: string) => process.stdout.write(text));
    const reversed = [...stacks].reverse();
    for (const [i, name] of reversed.entries()) {
        onOutput(`\n=== [${i + 1}/${reversed.length}] pulumi destroy ${name} ===\n`);
        const stack = await selectStack(name, opts);
        const state = await stack.exportStack();
        const protectedUrns = (state.deployment.resources ?? []).filter((r: { protect?: boolean }) => r.protect).map((r: { urn: string }) => r.urn);
        if (protectedUrns.length > 0) {
            onOutput(`lifting protection from ${protectedUrns.length} resource(s) of ${name} for this deliberate teardown:\n  ${protectedUrns.join("\n  ")}\n`);
            childProcess.execFileSync("pulumi", ["state", "unprotect", "--all", "--yes", "--stack", name], {
                cwd: opts.workDir,
                env: { ...process.env, ...opts.envVars },
                stdio: ["ignore", "ignore", "inherit"],
            });
        }
        await stack.destroy({ onOutput, color: "never" });
    }
}

/**
 * `pulumi preview --diff` of one stack, as the Markdown comment a pull request carries. A preview
 * that fails throws with the engine's message: there is no comment for it.
 */
export async function previewComment(stack: Stack, onOutput?: (text: string) => void): Promise<string> {
    const result = await stack.preview({ onOutput, color: "never", diff: true });
    const { name: project } = await stack.workspace.projectSettings();
    return previewCommentMarkdown({ command: "preview", project, stack: stack.name, output: result.stdout });
}

async function main(): Promise<void> {
    const [action, ...named] = process.argv.slice(2);
    const stacks = named.length > 0 ? named : MAIN_JOB_STACKS;
    const opts: StageRunOptions = { workDir: path.resolve(__dirname, "..") };
    if (action === "up") {
        const outputs = await upStages(stacks, opts);
        for (const [name, values] of Object.entries(outputs)) {
            console.log(`\n=== outputs of ${name} ===\n${JSON.stringify(values, null, 2)}`);
        }
    } else if (action === "down") {
        await downStages(stacks, opts);
    } else if (action === "preview") {
        // The engine's progress goes to stderr; stdout carries only the Markdown, one comment per stage.
        const selected = await ensureStacks(stacks, opts);
        for (const name of stacks) {
            console.log(await previewComment(selected.get(name)!, (t) => process.stderr.write(t)));
        }
    } else {
        console.error("usage: stages.ts up|down|preview [stack...]");
        process.exit(2);
    }
}

if (require.main === module) {
    main().catch((err: unknown) => {
        // The engine's own report is above; this names the step that failed.
        const message = err instanceof Error ? err.message : String(err);
        const reason = /error: (.+)/.exec(message)?.[1] ?? message.split("\n")[0];
        console.error(`\nstagewise: stopped: ${reason}`);
        process.exit(1);
    });
}
