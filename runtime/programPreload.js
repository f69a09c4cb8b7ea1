// Preloaded (`node --require`, Pulumi.yaml runtime.options.nodeargs) into the program's Node.js process,
// before the SDK's launcher (@pulumi/pulumi/cmd/run) loads the SDK, registers the stack and only then
// loads program.js — about 0.3 s. During an `up`, that is time initdb of a new server can already use
// (components/server/prepareAhead.ts), so it starts here. The launcher passes the stack, project and preview
// flag as arguments and copies them into PULUMI_NODEJS_* variables for the SDK; this does the same,
// from the same arguments, a moment earlier. Anywhere else (another launcher, missing arguments, tracing
// on) it does nothing, and program.js starts initdb ahead as before.
"use strict";
const path = require("path");
const { defer, resolveFromSdk, ARBORIST, TYPESCRIPT } = require("./lazySdk");

const ROOT = path.join(__dirname, "..");

/** The launcher's flags (its own minimist options), or undefined when this is not the launcher. */
function launcherFlags(argv) {
    if (!/[\\/]cmd[\\/]run(?:[\\/]index\.js)?$/.test(argv[1] ?? "")) {
        return undefined;
    }
    const minimistFile = resolveFromSdk("minimist", ROOT);
    if (minimistFile === undefined) {
        return undefined;
    }
    const minimist = require(minimistFile);
    const flags = minimist(argv.slice(2), {
        boolean: ["dry-run"],
        string: ["organization", "project", "root-directory", "stack", "parallel", "pwd", "monitor", "engine", "tracing"],
        unknown: () => true,
        stopEarly: true,
    });
    return flags.monitor && flags.stack && flags.project ? flags : undefined;
}

function start() {
    // With tracing, the launcher's gRPC instrumentation must load before anything loads gRPC: stand aside.
    if (process.env.TRACEPARENT) {
        return;
    }
    const flags = launcherFlags(process.argv);
    if (flags === undefined || flags.tracing) {
        return;
    }
    const env = {
        PULUMI_NODEJS_ORGANIZATION: flags.organization,
        PULUMI_NODEJS_PROJECT: flags.project,
        PULUMI_NODEJS_ROOT_DIRECTORY: flags["root-directory"],
        PULUMI_NODEJS_STACK: flags.stack,
        PULUMI_NODEJS_DRY_RUN: flags["dry-run"],
        PULUMI_NODEJS_PARALLEL: flags.parallel,
        PULUMI_NODEJS_MONITOR: flags.monitor,
        PULUMI_NODEJS_ENGINE: flags.engine,
    };
    for (const [key, value] of Object.entries(env)) {
        if (value) {
            process.env[key] = `${value}`; // as the launcher sets them, right after this
        }
    }
    defer([ARBORIST, TYPESCRIPT], ROOT);
    require("./typescript").register();
    require("../components/server/prepareAhead.ts").prepareServersAhead(flags.pwd);
}

try {
    start();
} catch {
    // Only ever a head start: program.js loads the same modules again and reports what is wrong.
}
