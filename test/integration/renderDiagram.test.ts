// The topology picture (pipelines/renderDiagram.ts): Mermaid from the same config objects that deploy,
// drawn by mermaid-cli in the system's Chromium into a plain SVG.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStageConfig } from "../../components/config/problems";
import { findChromium, renderSvg } from "../../pipelines/renderDiagram";
import { topologyDiagram } from "../../pipelines/topology";

jest.setTimeout(120_000);

let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-render-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function chromium(): string {
    const found = findChromium();
    if (found === undefined) {
        throw new Error("no Chromium here: npm test installs Debian's chromium (scripts/system-packages.sh) for this test");
    }
    return found;
}

/** The words of the SVG's text elements, in document order. */
const wordsOf = (svg: string) => [...svg.matchAll(/<tspan[^>]*>([^<]*)<\/tspan>/g)].map((m) => m[1].trim()).filter((w) => w !== "");

test("production with a hot standby and shipped WAL is drawn as an SVG whose text names every server and path", () => {
    const parsed = parseStageConfig(
        {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: 55432 } }),
            "stagewise:standbys": JSON.stringify({ "prod-hot": { tier: "hot", port: 55433 } }),
            "stagewise:shipping": JSON.stringify({ logBackupInterval: "1h", shipInterval: "1h" }),
        },
        new Set(),
    );
    if (!parsed.ok) {
        throw new Error(parsed.problems.join("\n"));
    }
    const mermaid = topologyDiagram([{ stack: "prod", qualifiedName: "organization/stagewise/prod", config: parsed.config }]);
    const target = path.join(dir, "topology.svg");
    renderSvg(mermaid, target, chromium());
    const svg = fs.readFileSync(target, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toContain("foreignObject"); // plain SVG text, readable in any viewer
    const words = wordsOf(svg).join(" ");
    for (const label of ["prod: production", "prod-db", "127.0.0.1:55432", "prod-hot", "127.0.0.1:55433", "WAL archive", "archive_command"]) {
        expect(words).toContain(label);
    }
    expect(fs.readdirSync(dir)).toEqual(["topology.svg"]); // written whole, nothing left beside it
});

test("text Mermaid cannot parse fails with mermaid-cli's own words, and writes nothing", () => {
    const target = path.join(dir, "broken.svg");
    expect(() => renderSvg("flowchart LR\n    a[open --> b\n", target, chromium())).toThrow(/rendering the topology with .+ failed:\n(.|\n)*Parse error/);
    expect(fs.existsSync(target)).toBe(false);
});

test("STAGEWISE_CHROMIUM that points nowhere is named in the error", () => {
    expect(() => findChromium({ STAGEWISE_CHROMIUM: path.join(dir, "no-such-chromium") })).toThrow(`STAGEWISE_CHROMIUM points at ${path.join(dir, "no-such-chromium")}, which does not exist`);
});
