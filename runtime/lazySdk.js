// The Pulumi SDK loads, as soon as a process touches its runtime, two large modules that a stagewise
// process needs late or never: npm's arborist (only for computeCodePaths, which stagewise never calls)
// and TypeScript (only to serialize a dynamic provider in the program; the dynamic-provider process
// only deserializes). Each costs a few hundred milliseconds of every `pulumi up`, in each of its two
// Node.js processes. `defer` puts a stand-in into Node's module cache that loads the real module on
// first use, so nothing changes but when the cost is paid.
"use strict";
const Module = require("module");
const path = require("path");

/** Where the SDK's own `require` of `request` leads, or undefined when the SDK is not installed there. */
function resolveFromSdk(request, fromDir) {
    try {
        const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json", { paths: [fromDir] }));
        return require.resolve(request, { paths: [sdkDir] });
    } catch {
        return undefined;
    }
}

/** A module whose exports load `filename` on first use. */
function standIn(filename) {
    let real;
    const load = () => {
        if (real === undefined) {
            delete require.cache[filename];
            real = require(filename); // caches the real module in place of the stand-in
        }
        return real;
    };
    const exports = new Proxy(
        {},
        {
            get(_target, key) {
                // The answers TypeScript's __importStar/__importDefault helpers need, without loading
                // anything: "treat me as an ES module" and, for a CommonJS module, `default` is the module.
                if (key === "__esModule") {
                    return real === undefined ? true : real.__esModule;
                }
                const module = load();
                return key === "default" && !module.__esModule ? module : module[key];
            },
            has: (_target, key) => key in load(),
            ownKeys: () => Reflect.ownKeys(load()),
            getOwnPropertyDescriptor(_target, key) {
                const descriptor = Reflect.getOwnPropertyDescriptor(load(), key);
                return descriptor && { ...descriptor, configurable: true };
            },
            set(_target, key, value) {
                load()[key] = value;
                return true;
            },
        },
    );
    const module = new Module(filename);
    module.filename = filename;
    module.loaded = true;
    module.exports = exports;
    return module;
}

/**
 * Defers each of `requests` (as the SDK installed for `fromDir` would resolve them) until first use. Best
 * effort: a module already loaded, or not found, is left alone.
 */
function defer(requests, fromDir = process.cwd()) {
    for (const request of requests) {
        const filename = resolveFromSdk(request, fromDir);
        if (filename !== undefined && require.cache[filename] === undefined) {
            require.cache[filename] = standIn(filename);
        }
    }
}

module.exports = { defer, resolveFromSdk, ARBORIST: "@npmcli/arborist", TYPESCRIPT: "@pulumi/pulumi/typescript-shim" };
