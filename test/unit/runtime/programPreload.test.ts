// runtime/programPreload.js: in the SDK's launcher it sets the launcher's PULUMI_NODEJS_* variables from
// the same arguments and starts initdb ahead before the SDK loads; in any other process it does nothing.
// Each case runs a fresh node with the preload, as Pulumi.yaml's nodeargs do, and a stand-in launcher
// that prints what it finds.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO_ROOT = path.join(__dirname, "../../..");
const PRELOAD = path.join(REPO_ROOT, "runtime", "programPreload.js");
let dir: string;

beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-preload-"));
});

afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `script` (its path relative to a temporary folder) with the preload, `args` and `extraEnv`; returns what it printed. */
function run(script: string, args: string[], extraEnv: Record<string, string> = {}): { env: Record<string, string>; prepareAheadLoaded: boolean; sdkLoaded: boolean } {
    const file = path.join(dir, script);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(
        file,
        [
            "const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PULUMI_NODEJS_')));",
            "const loaded = (end) => Object.keys(require.cache).some((f) => f.endsWith(end));",
            "console.log(JSON.stringify({ env, prepareAheadLoaded: loaded('/components/server/prepareAhead.ts'), sdkLoaded: loaded('/@pulumi/pulumi/index.js') }));",
        ].join("\n"),
    );
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("PULUMI_NODEJS_")));
    // No initdb here: preparing is turned off, but the module that would start it still loads.
    const out = childProcess.execFileSync(process.execPath, ["--require", PRELOAD, file, ...args], {
        cwd: REPO_ROOT,
        encoding: "utf8",
        env: { ...env, STAGEWISE_PREPARE_AHEAD: "0", ...extraEnv },
    });
    return JSON.parse(out);
}

const LAUNCHER_ARGS = [
    "--monitor", "127.0.0.1:40001",
    "--engine", "127.0.0.1:40002",
    "--organization", "organization",
    "--project", "stagewise",
    "--stack", "prod",
    "--pwd", REPO_ROOT,
    "--parallel", "16",
    "--dry-run",
    ".",
];

test("in the SDK's launcher: the launcher's own variables, from its arguments, and initdb ahead loaded before the program", () => {
    expect(run("node_modules/@pulumi/pulumi/cmd/run/index.js", LAUNCHER_ARGS)).toEqual({
        env: {
            PULUMI_NODEJS_MONITOR: "127.0.0.1:40001",
            PULUMI_NODEJS_ENGINE: "127.0.0.1:40002",
            PULUMI_NODEJS_ORGANIZATION: "organization",
            PULUMI_NODEJS_PROJECT: "stagewise",
            PULUMI_NODEJS_STACK: "prod",
            PULUMI_NODEJS_PARALLEL: "16",
            PULUMI_NODEJS_DRY_RUN: "true",
        },
        prepareAheadLoaded: true,
        sdkLoaded: true,
    });
});

test("in any other script, without the launcher's arguments, or with tracing on, it does nothing", () => {
    const nothing = { env: {}, prepareAheadLoaded: false, sdkLoaded: false };
    expect(run("some/other/script.js", LAUNCHER_ARGS)).toEqual(nothing);
    expect(run("node_modules/@pulumi/pulumi/cmd/run/index.js", ["--monitor", "127.0.0.1:40001", "."])).toEqual(nothing);
    // The launcher's gRPC instrumentation must load before gRPC does.
    expect(run("node_modules/@pulumi/pulumi/cmd/run/index.js", ["--tracing", "http://127.0.0.1:9411", ...LAUNCHER_ARGS])).toEqual(nothing);
    expect(run("node_modules/@pulumi/pulumi/cmd/run/index.js", LAUNCHER_ARGS, { TRACEPARENT: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" })).toEqual(nothing);
});
