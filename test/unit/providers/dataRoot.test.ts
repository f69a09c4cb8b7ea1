// The DataRoot provider's check, which runs in `pulumi preview` too: a folder that exists and is not
// the stage's own is refused there, naming platform.dataRoot and the folder, and nothing read from it.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DATA_ROOT_MARKER, dataRoot, dataRootProvider } from "../../../components/server/dataRoot";
import { providerTable } from "./providerTables";

const OWNER = "stagewise/prod";
let root: string;

const inputs = (dir: string, owner = OWNER) => ({ path: dir, owner, stage: "production", providerVersion: "4" });
/** A folder under the test's root holding `files` (name → content). */
function folder(name: string, files: Record<string, string>): string {
    const dir = path.join(root, name);
    fs.mkdirSync(dir, { recursive: true });
    for (const [file, content] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), content);
    }
    return dir;
}
const marker = (owner: unknown) => JSON.stringify({ owner, stage: "production", claimedAt: "2026-01-01T00:00:00.000Z" });

beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-dataroot-"));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe("DataRoot check", () => {
    test.each<[string, () => string, string]>([
        ["a folder holding someone's files", () => folder("foreign", { "notes.txt": "SECRET-NOTES" }), "already exists and holds files stagewise did not create; refusing to use it for stagewise/prod (choose another platform.dataRoot, or empty that folder yourself)"],
        ["another stack's claim", () => folder("other", { [DATA_ROOT_MARKER]: marker("stagewise/test") }), "belongs to stack stagewise/test; refusing to use it for stagewise/prod (choose another platform.dataRoot, or destroy that stack first)"],
        ["a marker that is not JSON", () => folder("garbled", { [DATA_ROOT_MARKER]: "SECRET-MARKER {" }), "belongs to another stack; refusing to use it for stagewise/prod (choose another platform.dataRoot, or destroy that stack first)"],
        ["a marker naming no stack", () => folder("odd", { [DATA_ROOT_MARKER]: marker("SECRET MARKER TEXT") }), "belongs to another stack; refusing to use it for stagewise/prod (choose another platform.dataRoot, or destroy that stack first)"],
        ["a file, not a folder", () => folder("parent", { file: "SECRET-FILE" }) + "/file", "is not a folder; refusing to use it for stagewise/prod (choose another platform.dataRoot)"],
    ])("refuses %s", async (_, make, reason) => {
        const dir = make();
        const result = await dataRootProvider.check!({} as never, inputs(dir));
        expect(result.failures).toEqual([{ property: "path", reason: `platform.dataRoot: ${dir} ${reason}` }]);
        expect(JSON.stringify(result.failures)).not.toContain("SECRET");
    });

    test.each<[string, () => string]>([
        ["a folder that does not exist yet", () => path.join(root, "fresh", "prod")],
        ["an empty folder", () => folder("empty", {})],
        ["a folder holding only the clusters the program prepares", () => folder("preparing", { ".stagewise-prepared/db-1.preparing/preparer.json": "{}" })],
        ["the stage's own folder, with its servers", () => folder("own", { [DATA_ROOT_MARKER]: marker(OWNER), "db/stagewise-server.json": "{}" })],
    ])("accepts %s", async (_, make) => {
        const dir = make();
        expect(await dataRootProvider.check!({} as never, inputs(dir))).toEqual({ inputs: inputs(dir), failures: [] });
    });

    test("accepts the folder it claimed while it is replaced for a new owner, and refuses it to anyone else", async () => {
        const dir = folder("renamed", { [DATA_ROOT_MARKER]: marker("stagewise/old"), "db/stagewise-server.json": "{}" });
        expect((await dataRootProvider.check!(inputs(dir, "stagewise/old"), inputs(dir, OWNER))).failures).toEqual([]);
        expect((await dataRootProvider.check!(inputs(path.join(root, "elsewhere"), "stagewise/old"), inputs(dir, OWNER))).failures).toEqual([
            { property: "path", reason: `platform.dataRoot: ${dir} belongs to stack stagewise/old; refusing to use it for stagewise/prod (choose another platform.dataRoot, or destroy that stack first)` },
        ]);
    });

    test.each<[string, Record<string, unknown>, { property: string; reason: string }[]]>([
        ["a relative path", { path: "data", owner: OWNER }, [{ property: "path", reason: '"data" is not an absolute path' }]],
        ["the file-system root", { path: "/", owner: OWNER }, [{ property: "path", reason: "the file-system root cannot be a data root" }]],
        ["an owner without a project", { path: "/srv/x", owner: "prod" }, [{ property: "owner", reason: '"prod" is not "<project>/<stack>"' }]],
    ])("refuses %s", async (_, given, failures) => {
        expect((await dataRootProvider.check!({} as never, { ...inputs(""), ...given } as never)).failures).toEqual(failures);
    });
});

describe("DataRoot create", () => {
    test("still refuses a folder that filled up after the check, and leaves it untouched", async () => {
        const dir = folder("late", {});
        expect((await dataRootProvider.check!({} as never, inputs(dir))).failures).toEqual([]);
        fs.writeFileSync(path.join(dir, "arrived.txt"), "x");
        await expect(dataRootProvider.create!(inputs(dir))).rejects.toThrow(
            `platform.dataRoot: ${dir} already exists and holds files stagewise did not create; refusing to use it for stagewise/prod (choose another platform.dataRoot, or empty that folder yourself)`,
        );
        expect(fs.readdirSync(dir)).toEqual(["arrived.txt"]);
    });

    test("claims a fresh folder with its marker", async () => {
        const dir = path.join(root, "claimed", "prod");
        const result = await dataRootProvider.create!(inputs(dir));
        expect(result.id).toBe(dir);
        expect(JSON.parse(fs.readFileSync(path.join(dir, DATA_ROOT_MARKER), "utf8"))).toMatchObject({ owner: OWNER, stage: "production" });
        expect((await dataRootProvider.check!(inputs(dir), inputs(dir))).failures).toEqual([]);
    });
});

describe("DataRoot table", () => {
    providerTable(dataRoot, {
        inputs: { path: "/nonexistent/stagewise-unit/data", owner: OWNER, stage: "production", providerVersion: "4" },
        outputs: { claimedAt: "2026-01-01T00:00:00.000Z" },
        bad: [
            ["a relative path and an owner without a stack, together", { path: "data", owner: "prod" }, [{ property: "path", reason: '"data" is not an absolute path' }, { property: "owner", reason: '"prod" is not "<project>/<stack>"' }]],
            ["no path at all", { path: undefined as never }, [{ property: "path", reason: "undefined is not an absolute path" }]],
        ],
        replacing: [
            ["another folder", { path: "/nonexistent/stagewise-unit/other" }, ["path"]],
            ["another owner", { owner: "stagewise/other" }, ["owner"]],
            ["another OS user", { osUser: "pgrun" }, ["osUser"]],
        ],
        inPlace: [["another stage kind", { stage: "test" }, ["stage"]]],
        placeholders: ["path", "owner", "stage"],
    });
});
