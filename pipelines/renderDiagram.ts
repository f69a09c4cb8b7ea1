// The topology picture as an image: the Mermaid text rendered to SVG by mermaid-cli in a headless
// Chromium — the system's (Debian's package `chromium`), never one downloaded at install time.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome", "/usr/bin/google-chrome-stable"];

/** The Chromium to render with: STAGEWISE_CHROMIUM, else the usual system paths; undefined when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | undefined {
    const wanted = env.STAGEWISE_CHROMIUM;
    if (wanted !== undefined && wanted !== "") {
        if (!fs.existsSync(wanted)) {
            throw new Error(`STAGEWISE_CHROMIUM points at ${wanted}, which does not exist`);
        }
        return wanted;
    }
    return CANDIDATES.find((candidate) => fs.existsSync(candidate));
}

export const NO_CHROMIUM =
    "no Chromium to draw the picture with: install it (Debian/Ubuntu: apt-get install chromium) or point STAGEWISE_CHROMIUM at one";

/** Renders `mermaid` to an SVG file at `target` (written whole), with `chromium`. Throws with mermaid-cli's own words on failure. */
export function renderSvg(mermaid: string, target: string, chromium: string): void {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-diagram-"));
    try {
        const input = path.join(work, "topology.mmd");
        const output = path.join(work, "topology.svg");
        const config = path.join(work, "puppeteer.json");
        fs.writeFileSync(input, mermaid);
        // Chromium refuses its sandbox to root; headless rendering of our own text needs none.
        const args = process.getuid?.() === 0 ? ["--no-sandbox", "--disable-gpu"] : ["--disable-gpu"];
        fs.writeFileSync(config, JSON.stringify({ executablePath: chromium, args }));
        // Plain SVG text, not HTML inside foreignObject: the picture then reads the same in any viewer.
        const mermaidConfig = path.join(work, "mermaid.json");
        fs.writeFileSync(mermaidConfig, JSON.stringify({ htmlLabels: false, flowchart: { htmlLabels: false } }));
        const cli = path.join(ROOT, "node_modules", "@mermaid-js", "mermaid-cli", "src", "cli.js");
        const result = childProcess.spawnSync(process.execPath, [cli, "--quiet", "--input", input, "--output", output, "--puppeteerConfigFile", config, "--configFile", mermaidConfig], {
            encoding: "utf8",
            timeout: 120_000,
        });
        if (result.status !== 0 || !fs.existsSync(output)) {
            // mermaid-cli's message, without the browser-side stack trace that follows it.
            const detail = `${result.stderr ?? ""}${result.stdout ?? ""}${result.error ? result.error.message : ""}`
                .split("\n")
                .filter((line) => line.trim() !== "" && !/^\s+at /.test(line))
                .slice(0, 8)
                .join("\n");
            throw new Error(`rendering the topology with ${chromium} failed:\n${detail}`);
        }
        fs.mkdirSync(path.dirname(target), { recursive: true });
        fs.copyFileSync(output, `${target}.partial`);
        fs.renameSync(`${target}.partial`, target);
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}
