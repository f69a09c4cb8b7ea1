// The cached TypeScript hook every Pulumi program and engine unit of this project starts through
// (runtime/typescript.js): what it caches, when it transpiles anew, and that a cache hit never loads
// TypeScript.
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const HOOK = path.join(__dirname, "../../../runtime/typescript.js");
const { javascriptFor } = require(HOOK) as { javascriptFor(filename: string): string };

let dir: string;
let cache: string; // where the hook keeps the JavaScript
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-ts-hook-"));
    process.env.STAGEWISE_TRANSPILE_CACHE = path.join(dir, "cache");
    cache = path.join(dir, "cache", "typescript");
});
afterEach(() => {
    delete process.env.STAGEWISE_TRANSPILE_CACHE;
    fs.rmSync(dir, { recursive: true, force: true });
});

function source(name: string, text: string): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
}

test("the JavaScript of a file comes from the cache while its text is unchanged, and anew once it changes", () => {
    const file = source("answer.ts", "export const answer: number = 42;\n");
    expect(javascriptFor(file)).toContain("exports.answer = 42;");
    const entries = fs.readdirSync(cache);
    expect(entries).toHaveLength(1);

    // What the cache holds is what a second load gets, without transpiling (an entry carries its text's hash).
    const planted = "exports.answer = 'from the cache';\n";
    fs.writeFileSync(path.join(cache, entries[0]), `${crypto.createHash("sha256").update(planted).digest("hex")}\n${planted}`);
    expect(javascriptFor(file)).toBe("exports.answer = 'from the cache';\n");

    fs.writeFileSync(file, "export const answer: number = 43;\n");
    expect(javascriptFor(file)).toContain("exports.answer = 43;");
    expect(fs.readdirSync(cache)).toHaveLength(2);
});

test("a syntax error names the file, line and column, and nothing is cached", () => {
    const file = source("broken.ts", "export const ok = 1;\nexport const broken = (;\n");
    expect(() => javascriptFor(file)).toThrow(`${file}:2:24: Expression expected.`);
    expect(fs.existsSync(cache) ? fs.readdirSync(cache) : []).toEqual([]);
});

test("a process whose sources are cached never loads TypeScript; the first one does", () => {
    source("lib.ts", "export function twice(n: number): number { return 2 * n; }\n");
    source("main.ts", `import { twice } from "./lib";\nexport const result: number = twice(21);\n`);
    const probe = [
        `require(${JSON.stringify(HOOK)}).register();`,
        `const { result } = require(${JSON.stringify(path.join(dir, "main.ts"))});`,
        `const typescriptLoaded = Object.keys(require.cache).some((f) => f.endsWith("/typescript/lib/typescript.js"));`,
        `console.log(JSON.stringify({ result, typescriptLoaded }));`,
    ].join("\n");
    const run = () => JSON.parse(childProcess.execFileSync(process.execPath, ["-e", probe], { env: { ...process.env }, encoding: "utf8" }));
    expect(run()).toEqual({ result: 42, typescriptLoaded: true });
    expect(run()).toEqual({ result: 42, typescriptLoaded: false });
});
