// `npm run diagram`: the topology of every stage of this project (one stack file each), drawn from the
// stacks' validated configuration, written to docs/topology.md as a Mermaid flowchart and, when a
// Chromium is installed, to docs/topology.svg as a picture. Run through scripts/toolchain.sh (it reads
// the stacks' configuration through the Pulumi CLI).
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { formatProblems, parseStageConfig } from "../components/config/problems";
import { findChromium, NO_CHROMIUM, renderSvg } from "../pipelines/renderDiagram";
import { StackTopology, topologyDiagram } from "../pipelines/topology";

const ROOT = path.resolve(__dirname, "..");

/** The stacks with a stack file, production first (staging stages point at it). */
function stackNames(): string[] {
    const names = fs
        .readdirSync(ROOT)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((n): n is string => n !== undefined);
    const order = ["prod", "test", "dev"];
    return names.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
}

async function topologyOf(stack: string): Promise<StackTopology> {
    const ws = await LocalWorkspace.create({ workDir: ROOT });
    const all = await ws.getAllConfig(stack);
    const raw = Object.fromEntries(Object.entries(all).map(([k, v]) => [k, v.value]));
    const secrets = new Set(Object.entries(all).filter(([, v]) => v.secret).map(([k]) => k));
    const parsed = parseStageConfig(raw, secrets);
    if (!parsed.ok) {
        throw new Error(formatProblems(stack, parsed.problems));
    }
    const { name: project } = await ws.projectSettings();
    return { stack, qualifiedName: `organization/${project}/${stack}`, config: parsed.config };
}

export function topologyMarkdown(mermaid: string, stacks: string[]): string {
    return [
        "# Topology",
        "",
        `The stages of this project (${stacks.map((s) => `\`${s}\``).join(", ")}), drawn by \`npm run diagram\` from the stack`,
        "files' validated configuration — the same objects `pulumi up` deploys. Each stack also exports its",
        "own part as the output `topology`. The same picture as an image: [topology.svg](topology.svg).",
        "",
        "```mermaid",
        mermaid,
        "```",
        "",
    ].join("\n");
}

async function main(): Promise<void> {
    const names = stackNames();
    const topologies: StackTopology[] = [];
    for (const name of names) {
        // Selecting a stack the backend does not know yet creates it (empty), as `npm start` would.
        await LocalWorkspace.createOrSelectStack({ stackName: name, workDir: ROOT });
        topologies.push(await topologyOf(name));
    }
    const mermaid = topologyDiagram(topologies);
    const target = path.join(ROOT, "docs", "topology.md");
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, topologyMarkdown(mermaid, names));
    console.log(`wrote docs/topology.md (${names.join(", ")})`);
    const chromium = findChromium();
    if (chromium === undefined) {
        console.log(`no docs/topology.svg: ${NO_CHROMIUM}`);
        return;
    }
    console.log(`drawing docs/topology.svg with ${chromium}...`);
    renderSvg(mermaid, path.join(ROOT, "docs", "topology.svg"), chromium);
    console.log("wrote docs/topology.svg");
}

if (require.main === module) {
    main().catch((err: unknown) => {
        console.error(`stagewise: diagram: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
    });
}
