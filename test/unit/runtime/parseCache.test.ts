// runtime/parseCache.js: a dynamic provider serializes to exactly the same text with the cached parse
// as without it, and a warm cache never loads TypeScript. Each case runs in its own Node process,
// because jest keeps a module registry of its own.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO_ROOT = path.join(__dirname, "../../..");

let cache: string;
beforeEach(() => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-parse-cache-"));
});
afterEach(() => fs.rmSync(cache, { recursive: true, force: true }));

/** Serializes a provider that captures a constant, a helper, a module and an outer variable; prints its text. */
function serialize(withCache: boolean): { text: string; typescriptLoaded: boolean } {
    // A module file, not node -e: top-level functions of -e are globals, which serialize differently.
    const script = `
        const root = ${JSON.stringify(REPO_ROOT)};
        const lazy = require(root + "/runtime/lazySdk");
        lazy.defer([lazy.ARBORIST, lazy.TYPESCRIPT], root);
        if (${withCache}) require(root + "/runtime/parseCache").install(root);
        const pulumi = require(require.resolve("@pulumi/pulumi", { paths: [root] }));
        const pathModule = require("path");
        const LIMIT = 7;
        let calls = 0;
        function clamp(n) { calls++; return Math.min(n, LIMIT); }
        const provider = {
            async create(inputs) { return { id: pathModule.join("a", "b"), outs: { n: clamp(inputs.n), calls } }; },
            async diff(_id, olds, news) { return { changes: olds.n !== news.n }; },
        };
        pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true }).then((serialized) => {
            const typescriptLoaded = Object.keys(require.cache).some((f) => f.endsWith("/typescript/lib/typescript.js"));
            console.log(JSON.stringify({ text: serialized.text, typescriptLoaded }));
        });
    `;
    const file = path.join(cache, "probe.js");
    fs.writeFileSync(file, script);
    const output = childProcess.execFileSync(process.execPath, [file], {
        cwd: REPO_ROOT,
        env: { ...process.env, STAGEWISE_TRANSPILE_CACHE: cache },
        encoding: "utf8",
    });
    return JSON.parse(output);
}

test("a provider serializes to the same text with a cold cache, a warm cache and no cache; a warm cache loads no TypeScript", () => {
    const plain = serialize(false);
    const cold = serialize(true);
    const warm = serialize(true);
    expect(plain.text).toContain("function /*clamp*/(n)");
    expect(plain.text).toContain("LIMIT: 7");
    expect(cold.text).toBe(plain.text);
    expect(warm.text).toBe(plain.text);
    expect([plain.typescriptLoaded, cold.typescriptLoaded, warm.typescriptLoaded]).toEqual([true, true, false]);
    expect(fs.readdirSync(path.join(cache, "parsed-functions")).length).toBeGreaterThan(3);
});
