// To serialize a dynamic provider, the Pulumi SDK parses the text of every function the provider
// reaches with the TypeScript parser, to learn which outer variables it uses. That parse is a pure
// function of the text (and of the SDK's version), so its results are kept on disk: a provider whose
// code did not change is serialized without loading TypeScript and without parsing anything. The
// values those variables hold are still read afresh on every run; only the parse is reused.
"use strict";
const path = require("path");
const diskCache = require("./diskCache");
const { resolveFromSdk } = require("./lazySdk");

// [error, parsed] as JSON: the parse holds Maps of captured variable names.
function encode(result) {
    const [error, parsed] = result;
    if (parsed === undefined || parsed.capturedVariables === undefined) {
        return JSON.stringify({ error, parsed });
    }
    const { required, optional } = parsed.capturedVariables;
    return JSON.stringify({ error, parsed: { ...parsed, capturedVariables: { required: [...required], optional: [...optional] } } });
}

function decode(text) {
    const { error, parsed } = JSON.parse(text);
    if (parsed !== undefined && parsed.capturedVariables !== undefined) {
        parsed.capturedVariables = { required: new Map(parsed.capturedVariables.required), optional: new Map(parsed.capturedVariables.optional) };
    }
    return [error, parsed];
}

/** Wraps the SDK's parseFunction (as installed for `root`) with the disk cache. Best effort: without the SDK module, nothing changes. */
function install(root) {
    const parseFunctionFile = resolveFromSdk("@pulumi/pulumi/runtime/closure/parseFunction", root);
    const sdkPackageFile = resolveFromSdk("@pulumi/pulumi/package.json", root);
    if (parseFunctionFile === undefined || sdkPackageFile === undefined) {
        return;
    }
    const parseFunctionModule = require(parseFunctionFile);
    const sdkVersion = require(sdkPackageFile).version;
    const original = parseFunctionModule.parseFunction;
    if (typeof original !== "function" || original.stagewiseCached) {
        return;
    }
    const dir = path.join(diskCache.cacheRoot(root), "parsed-functions");
    const cached = (functionText) => {
        const key = diskCache.keyOf([sdkVersion, functionText], ".json");
        const text = diskCache.read(dir, key);
        if (text !== undefined) {
            return decode(text);
        }
        const result = original(functionText);
        diskCache.write(dir, key, encode(result));
        return result;
    };
    cached.stagewiseCached = true;
    parseFunctionModule.parseFunction = cached;
}

module.exports = { install };
