// Lets Node require this project's .ts files: each is transpiled once (no type check — `npm test` and
// `npm run typecheck` do that) and the JavaScript is cached by content, so a process whose sources did
// not change starts without loading TypeScript at all. Every `pulumi up` starts two such processes, and
// transpiling the program anew took longer than the work of a small stage.
//
//   require("./runtime/typescript").register();
"use strict";
const fs = require("fs");
const path = require("path");
const diskCache = require("./diskCache");

const ROOT = path.join(__dirname, "..");

let registered = false;
let typescript; // loaded on the first cache miss only
let compilerOptions; // tsconfig.json's, read on the first cache miss only
let settings; // what, besides a file's text, decides its JavaScript: TypeScript's version and tsconfig.json

function cacheSettings() {
    if (settings === undefined) {
        const tsVersion = require(require.resolve("typescript/package.json", { paths: [ROOT] })).version;
        settings = `${tsVersion}\n${fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")}`;
    }
    return settings;
}

/** tsconfig.json's compiler options, made fit for one CommonJS file at a time with its source map inline. */
function transpileOptions() {
    if (compilerOptions === undefined) {
        const { config, error } = typescript.readConfigFile(path.join(ROOT, "tsconfig.json"), typescript.sys.readFile);
        if (error) {
            throw new Error(`tsconfig.json: ${typescript.flattenDiagnosticMessageText(error.messageText, "\n")}`);
        }
        const { options } = typescript.convertCompilerOptionsFromJson(config.compilerOptions ?? {}, ROOT);
        compilerOptions = { ...options, module: typescript.ModuleKind.CommonJS, noEmit: false, sourceMap: false, inlineSourceMap: true, inlineSources: false };
    }
    return compilerOptions;
}

function transpile(source, filename) {
    typescript ??= require(require.resolve("typescript", { paths: [ROOT] }));
    const result = typescript.transpileModule(source, { fileName: filename, reportDiagnostics: true, compilerOptions: transpileOptions() });
    const syntaxErrors = (result.diagnostics ?? []).filter((d) => d.category === typescript.DiagnosticCategory.Error);
    if (syntaxErrors.length > 0) {
        const text = syntaxErrors.map((d) => {
            const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : undefined;
            return `${filename}${where ? `:${where.line + 1}:${where.character + 1}` : ""}: ${typescript.flattenDiagnosticMessageText(d.messageText, "\n")}`;
        });
        throw new SyntaxError(text.join("\n"));
    }
    return result.outputText;
}

/** The JavaScript for one .ts file: from the cache when its text and the settings are unchanged. */
function javascriptFor(filename) {
    const source = fs.readFileSync(filename, "utf8");
    const dir = path.join(diskCache.cacheRoot(ROOT), "typescript");
    const key = diskCache.keyOf([cacheSettings(), filename, source], ".js");
    const cached = diskCache.read(dir, key);
    if (cached !== undefined) {
        return cached;
    }
    const javascript = transpile(source, filename);
    diskCache.write(dir, key, javascript);
    return javascript;
}

/** Makes `require` of .ts files work in this process. For .ts line numbers in stack traces, run node with
 * --enable-source-maps (the JavaScript carries inline maps; applying them to every stack trace costs time). */
function register() {
    if (registered) {
        return;
    }
    registered = true;
    require.extensions[".ts"] = (module, filename) => module._compile(javascriptFor(filename), filename);
}

module.exports = { register, javascriptFor };
