// stagewise the way a library user gets it: this checkout packed with `npm pack`, and the example
// program (examples/library) in a temporary folder of its own that installs the tarball, with its own
// file backend. Nothing of this checkout is on the program's module path but the installed package.
import { LocalWorkspace, Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { REPO_ROOT } from "./engine";
import { processesWhere } from "./postgres";

/** The example's own files (what a user copies): not its node_modules, lockfile or tarball. */
const EXAMPLE_FILES = ["Pulumi.yaml", "package.json", "tsconfig.json", "index.ts", "admin/objects.json"];

export interface LibraryProject {
    /** Root of everything the project writes (the example, its node_modules, backend, data). */
    dir: string;
    /** Folder of the example program (its Pulumi.yaml). */
    projectDir: string;
    /** Name of the tarball `npm pack` made, as npm printed it. */
    tarball: string;
    /** Environment the engine needs for this project's backend. */
    envVars: Record<string, string>;
    /** Creates stack `stackName` of the example (no configuration: the program holds it all). */
    createStack(stackName: string): Promise<Stack>;
    /** Runs a program of the example's node_modules/.bin (e.g. tsc) in the example; exit status and what it printed. */
    run(program: string, args: string[]): { status: number | null; output: string };
    /** `pulumi state unprotect --all` of the stack, as a user does before a deliberate destroy of production. */
    unprotectAll(stack: Stack): void;
    /** Processes running inside `dir` (working directory or an argument there), as "pid argv…" lines. */
    processesInside(dir: string): string[];
    /** Stops any server left under the project, by PID, and removes the folder. */
    dispose(): void;
}

/** Packs this checkout (npm pack, which builds dist/ first) and installs the example with the tarball in a new folder. */
export function libraryProject(): LibraryProject {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "library-e2e-"));
    fs.chmodSync(dir, 0o755); // the servers' OS user must reach the data root inside
    const projectDir = path.join(dir, "example");
    fs.mkdirSync(projectDir);
    fs.mkdirSync(path.join(dir, "state"));
    for (const file of EXAMPLE_FILES) {
        fs.mkdirSync(path.dirname(path.join(projectDir, file)), { recursive: true });
        fs.copyFileSync(path.join(REPO_ROOT, "examples", "library", file), path.join(projectDir, file));
    }
    const packed = childProcess.execFileSync("npm", ["pack", "--pack-destination", projectDir, "--silent"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 180_000 });
    const tarball = packed.trim().split("\n").pop() ?? "";
    // From npm's cache where it holds them (the versions this checkout's lockfile installed).
    childProcess.execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: projectDir, encoding: "utf8", timeout: 300_000 });
    const envVars = {
        PULUMI_BACKEND_URL: `file://${path.join(dir, "state")}`,
        PULUMI_CONFIG_PASSPHRASE: "stagewise-library-e2e",
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_NODEJS_TRANSPILE_ONLY: "true", // the test type-checks the example with tsc itself
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
    return {
        dir,
        projectDir,
        tarball,
        envVars,
        createStack: (stackName) => LocalWorkspace.createStack({ stackName, workDir: projectDir }, { envVars }),
        run(program, args) {
            const result = childProcess.spawnSync(path.join(projectDir, "node_modules", ".bin", program), args, { cwd: projectDir, encoding: "utf8", timeout: 120_000 });
            return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
        },
        unprotectAll(stack) {
            childProcess.execFileSync("pulumi", ["state", "unprotect", "--all", "--yes", "--stack", stack.name], {
                cwd: projectDir,
                env: { ...process.env, ...envVars },
                encoding: "utf8",
                timeout: 60_000,
            });
        },
        processesInside: (inside) => processesInside(inside),
        dispose() {
            stopServersInside(dir);
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

/** Processes (other than this one) whose working directory or an argument lies inside `dir`; zombies excluded. */
function processesInside(dir: string): string[] {
    const inside = (p: string) => p === dir || p.startsWith(dir + path.sep);
    return processesWhere((pid, argv) => inside(fs.readlinkSync(`/proc/${pid}/cwd`)) || argv.some(inside));
}

/** Stops, by PID, the PostgreSQL servers left under `dir` (a failed test): SIGINT is PostgreSQL's fast shutdown. */
function stopServersInside(dir: string): void {
    const postmasters = processesInside(dir)
        .filter((p) => / -D /.test(p))
        .map((p) => Number(p.split(" ")[0]));
    for (const pid of postmasters) {
        try {
            process.kill(pid, "SIGINT");
        } catch {
            // already gone
        }
    }
    const deadline = Date.now() + 15_000;
    while (postmasters.some((pid) => fs.existsSync(`/proc/${pid}`)) && Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
}
