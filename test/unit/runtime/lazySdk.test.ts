// runtime/lazySdk.js: the SDK modules a stagewise process defers are loaded on first use and behave as
// the real ones under TypeScript's import helpers. Each case runs in its own Node process, because
// jest keeps a module registry of its own.
import * as childProcess from "child_process";
import * as path from "path";

const REPO_ROOT = path.join(__dirname, "../../..");

/** Runs `body` in a fresh node in the repository, after deferring both modules; returns what it printed as JSON. */
function probe(body: string): unknown {
    const script = [
        `const lazy = require("./runtime/lazySdk");`,
        `lazy.defer([lazy.ARBORIST, lazy.TYPESCRIPT], process.cwd());`,
        `const loaded = (end) => Object.keys(require.cache).some((f) => f.endsWith(end));`,
        `const TS = "/typescript/lib/typescript.js", ARBORIST = "/@npmcli/arborist/lib/arborist/index.js";`,
        body,
    ].join("\n");
    return JSON.parse(childProcess.execFileSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8" }));
}

test("the Pulumi SDK loads without TypeScript and arborist; the first use loads the real module", () => {
    expect(
        probe(`
            const pulumi = require("@pulumi/pulumi");
            const before = { typescript: loaded(TS), arborist: loaded(ARBORIST) };
            const ts = require("@pulumi/pulumi/typescript-shim");
            const kind = ts.SyntaxKind[ts.SyntaxKind.ArrowFunction];
            console.log(JSON.stringify({ before, kind, after: { typescript: loaded(TS), arborist: loaded(ARBORIST) }, sdk: typeof pulumi.dynamic.Resource }));
        `),
    ).toEqual({ before: { typescript: false, arborist: false }, kind: "ArrowFunction", after: { typescript: true, arborist: false }, sdk: "function" });
});

test("a deferred CommonJS module under __importStar and __importDefault is the real module", () => {
    expect(
        probe(`
            const importStar = (mod) => (mod && mod.__esModule ? mod : { ...mod, default: mod });
            const importDefault = (mod) => (mod && mod.__esModule ? mod : { default: mod });
            const arborist = importStar(require(require.resolve("@npmcli/arborist", { paths: [require("path").dirname(require.resolve("@pulumi/pulumi/package.json"))] })));
            const real = require("@npmcli/arborist");
            console.log(JSON.stringify({
                sameClass: arborist.Arborist === real.Arborist,
                defaultIsModule: importDefault(require("@pulumi/pulumi/typescript-shim")).default.version === require("typescript").version,
                keys: Object.keys(require("@pulumi/pulumi/typescript-shim")).includes("createSourceFile"),
            }));
        `),
    ).toEqual({ sameClass: true, defaultIsModule: true, keys: true });
});

test("a dynamic provider still serializes and runs with both modules deferred", () => {
    expect(
        probe(`
            const pulumi = require("@pulumi/pulumi");
            const provider = { async create(inputs) { return { id: "x", outs: { doubled: inputs.n * 2 } }; } };
            // As the SDK serializes a dynamic provider and its dynamic-provider process loads it again.
            pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true }).then(async (serialized) => {
                const result = await require("require-from-string")(serialized.text).handler().create({ n: 21 });
                console.log(JSON.stringify({ outs: result.outs, typescript: loaded(TS), arborist: loaded(ARBORIST) }));
            });
        `),
    ).toEqual({ outs: { doubled: 42 }, typescript: true, arborist: false });
});
