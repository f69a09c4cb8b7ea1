// Throwaway projects for driving the real Pulumi engine through the Automation API: a temporary
// folder with its own file backend and a Pulumi.yaml whose program is this repository's index.ts.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import { stageOutputsSchema, StageOutputs } from "../../components/outputs";
import { freeLoopbackPort } from "../../components/platform/ports";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const REPO_ROOT = path.resolve(__dirname, "../..");

/** Copies this checkout's files as a clone would hold them (tracked and new, not what git ignores) into `dest`. */
export function copyCheckoutFiles(dest: string): void {
    const files = childProcess
        .execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: REPO_ROOT, encoding: "utf8" })
        .split("\0")
        .filter((f) => f !== "" && fs.existsSync(path.join(REPO_ROOT, f)));
    for (const file of files) {
        fs.mkdirSync(path.dirname(path.join(dest, file)), { recursive: true });
        fs.copyFileSync(path.join(REPO_ROOT, file), path.join(dest, file));
    }
}

/** The engine's environment for a file backend in `stateDir`, with the committed stack files' passphrase. */
export function committedStacksEnv(stateDir: string): Record<string, string> {
    return {
        PULUMI_BACKEND_URL: `file://${stateDir}`,
        PULUMI_CONFIG_PASSPHRASE: "stagewise-local-stacks",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

export interface ThrowawayWorkspace {
    /** Root of everything the project writes (backend, data, stack files). */
    dir: string;
    /** Folder of its Pulumi.yaml and stack files. */
    projectDir: string;
    /** Environment the engine needs for this workspace's backend. */
    envVars: Record<string, string>;
    /** Creates a stack of this project with `config` (full keys, plain values). */
    createStack(stackName: string, config: Record<string, string>): Promise<Stack>;
    /** Processes whose working directory lies inside `dir`, as "pid command" lines. */
    strayProcesses(): string[];
    /** Removes the folder (and with it the backend and every stack). */
    dispose(): void;
}

/** A fresh project running this repository's program, with its own file backend in a temporary folder. */
export function throwawayWorkspace(): ThrowawayWorkspace {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-e2e-"));
    fs.chmodSync(dir, 0o755); // the servers' OS user must reach the data roots inside
    const projectDir = path.join(dir, "project");
    fs.mkdirSync(path.join(dir, "state"), { recursive: true });
    fs.mkdirSync(projectDir);
    fs.writeFileSync(
        path.join(projectDir, "Pulumi.yaml"),
        [
            "name: stagewise",
            "runtime:",
            "  name: nodejs",
            "  options:",
            "    typescript: false", // the project's program.js loads the TypeScript (runtime/typescript.js)
            // As the project's Pulumi.yaml (nodeargs are split at spaces: without it, program.js starts initdb ahead).
            ...(/\s/.test(REPO_ROOT) ? [] : [`    nodeargs: --require ${path.join(REPO_ROOT, "runtime", "programPreload.js")}`]),
            `main: ${path.join(path.relative(projectDir, REPO_ROOT), "program.js")}`, // the stack program, not the library package.json exports
            "",
        ].join("\n"),
    );
    const envVars = {
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "stagewise-e2e",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_NODEJS_TRANSPILE_ONLY: "true", // ts-jest type-checks the program already
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    return {
        dir,
        projectDir,
        envVars,
        async createStack(stackName, config) {
            const stack = await LocalWorkspace.createStack({ stackName, workDir: projectDir }, { envVars });
            await stack.setAllConfig(Object.fromEntries(Object.entries(config).map(([k, value]) => [k, { value }])));
            return stack;
        },
        strayProcesses: () => processesInside(dir),
        dispose: () => {
            stopServersInside(dir);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

export interface ThrowawayProject {
    /** Root of everything the project writes (backend, data, stack files). */
    dir: string;
    stack: Stack;
    /** Processes whose working directory lies inside `dir`, as "pid command" lines. */
    strayProcesses(): string[];
    /** Removes the stack and the folder; call once the stack is destroyed. */
    dispose(): Promise<void>;
}

/** One stack `stackName` of a throwaway workspace, with `config`. */
export async function throwawayProject(stackName: string, config: Record<string, string>): Promise<ThrowawayProject> {
    const workspace = throwawayWorkspace();
    const stack = await workspace.createStack(stackName, config);
    return {
        dir: workspace.dir,
        stack,
        strayProcesses: workspace.strayProcesses,
        async dispose() {
            await stack.workspace.removeStack(stackName);
            workspace.dispose();
        },
    };
}

/**
 * Stops, by PID, the PostgreSQL servers this test started under `dir` that its stacks no longer
 * manage (a stack removed with --force, a failed test): SIGINT is PostgreSQL's fast shutdown.
 */
function stopServersInside(dir: string): void {
    const postmasters = processesInside(dir).filter((p) => / -D /.test(p) && /\/postgres /.test(p));
    for (const line of postmasters) {
        try {
            process.kill(Number(line.split(" ")[0]), "SIGINT");
        } catch {
            // already gone
        }
    }
    const deadline = Date.now() + 15_000;
    while (postmasters.some((p) => alive(Number(p.split(" ")[0]))) && Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
}

/** Running (a zombie waiting to be reaped counts as ended). */
function alive(pid: number): boolean {
    try {
        return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
    } catch {
        return false;
    }
}

function processesInside(dir: string): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        try {
            const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
            if (cwd === dir || cwd.startsWith(dir + path.sep)) {
                found.push(`${pid} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim()}`);
            }
        } catch {
            // the process ended while we looked, or is not ours to read
        }
    }
    return found;
}

/**
 * Stack `name` of `workspace` for a stage of kind `stage`: one server `<name>-db` on a free port, data
 * under the workspace, and `extra` config values (keys without the namespace, values as JSON).
 */
export async function stageStack(workspace: ThrowawayWorkspace, name: string, stage: string, extra: Record<string, unknown> = {}): Promise<Stack> {
    const config: Record<string, string> = {
        "stagewise:stage": stage,
        "stagewise:servers": JSON.stringify({ [`${name}-db`]: { port: await freePort() } }),
        "stagewise:platform": JSON.stringify({ kind: "local", dataRoot: path.join(workspace.dir, "data", name) }),
    };
    for (const [key, value] of Object.entries(extra)) {
        config[`stagewise:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return workspace.createStack(name, config);
}

/** Lifts the protection of every resource of `stack` (a production's), as `npm run down` does; throws when the CLI fails. */
export function unprotectAll(stack: Stack): void {
    const workspace = stack.workspace as LocalWorkspace;
    childProcess.execFileSync("pulumi", ["state", "unprotect", "--all", "--yes", "--stack", stack.name], { cwd: workspace.workDir, env: { ...process.env, ...workspace.envVars }, timeout: 60_000 });
}

/** A test file's end for a protected stack that may never have come up: protection lifted, then destroyed; failures left to dispose. */
export async function destroyProtected(stack: Stack | undefined): Promise<void> {
    if (stack === undefined) {
        return;
    }
    try {
        unprotectAll(stack);
    } catch {
        // a stack that never came up has nothing to unprotect
    }
    await stack.destroy({ color: "never" }).catch(() => undefined);
}

/** A test file's end: destroys `stack` (a failed destroy is left to dispose) and removes `workspace`; either may never have been made. */
export async function destroyAndDispose(stack: Stack | undefined, workspace: ThrowawayWorkspace | undefined): Promise<void> {
    await stack?.destroy({ color: "never" }).catch(() => undefined);
    workspace?.dispose();
}

/** A stack's outputs, secrets shown, checked against the outputs contract. */
export async function stageOutputs(stack: Stack): Promise<StageOutputs> {
    return stageOutputsSchema.parse(Object.fromEntries(Object.entries(await stack.outputs()).map(([k, v]) => [k, v.value])));
}

let nextTestPort: number | undefined;

/** A free loopback TCP port for a test server, below the ephemeral range (see platform/ports.ts); never the same one twice in a test file. */
export async function freePort(): Promise<number> {
    const port = await freeLoopbackPort("127.0.0.1", nextTestPort);
    nextTestPort = port + 1;
    return port;
}

/** The example consumer project (examples/consumer) as stack `name` in `workspace`'s backend. */
export async function consumerStack(workspace: ThrowawayWorkspace, name: string, productionStack: string): Promise<Stack> {
    const workDir = path.join(workspace.dir, "consumer");
    fs.mkdirSync(workDir, { recursive: true });
    fs.writeFileSync(
        path.join(workDir, "Pulumi.yaml"),
        ["name: stagewise-consumer", "runtime:", "  name: nodejs", "  options:", "    typescript: true", `main: ${path.relative(workDir, path.join(REPO_ROOT, "examples/consumer"))}`, ""].join("\n"),
    );
    const stack = await LocalWorkspace.createStack({ stackName: name, workDir }, { envVars: workspace.envVars });
    await stack.setConfig("stagewise-consumer:productionStack", { value: productionStack });
    return stack;
}
