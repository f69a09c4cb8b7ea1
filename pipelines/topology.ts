// The topology picture: a Mermaid flowchart of stages, their servers, standbys, shipping paths, locks
// and bindings, drawn from the same validated configuration the program deploys from — so the picture
// cannot show something the stacks do not declare.
import type { StageConfig } from "../components/config/schema";

export interface StackTopology {
    /** The stack's name, e.g. "prod". */
    stack: string;
    /** Its fully qualified name, as staging stages name production ("organization/stagewise/prod"). */
    qualifiedName: string;
    config: StageConfig;
}

/** Mermaid node ids: letters, digits and _ only. */
const id = (...parts: string[]) => parts.join("__").replace(/[^A-Za-z0-9_]/g, "_");

/** A label in quotes (so Mermaid reads no syntax inside), quotes and angle brackets as entities. */
const label = (...lines: string[]) =>
    `"${lines.map((l) => l.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;")).join("<br/>")}"`;

// The config fields of features that only some stacks declare, read without assuming their shape.
interface StandbyLike {
    tier: string;
    host?: string;
    port?: number;
    synchronous?: boolean;
    applyDelay?: string;
    baseBackupInterval?: string;
}
interface ShippingLike {
    logBackupInterval?: string;
    shipInterval?: string;
    applyDelay?: string;
}

function stageLines(t: StackTopology, byQualifiedName: Map<string, StackTopology>): { nodes: string[]; outside: string[]; edges: string[] } {
    const { config } = t;
    const nodes: string[] = [];
    const outside: string[] = []; // stacks this one names but the picture does not hold
    const edges: string[] = [];
    const servers = Object.entries(config.servers);
    const declaredPrimary = (config as { primary?: string }).primary ?? servers[0]?.[0];
    for (const [name, server] of servers) {
        const role = Object.keys(config.standbys).length > 0 ? (name === declaredPrimary ? "primary" : "standby") : undefined;
        nodes.push(`${id(t.stack, name)}[(${label(name, `${server.host}:${server.port}`, ...(role ? [role] : []))})]`);
    }
    const [primaryName] = servers[0] ?? [];
    const primaryId = primaryName ? id(t.stack, primaryName) : undefined;
    const shipping = (config as { shipping?: ShippingLike }).shipping;
    if (shipping && primaryId) {
        const archiveId = id(t.stack, "wal_archive");
        nodes.push(`${archiveId}[[${label("WAL archive", `log backup every ${shipping.logBackupInterval ?? "1h"}`)}]]`);
        edges.push(`${primaryId} -.->|${label("archive_command")}| ${archiveId}`);
    }
    for (const [name, raw] of Object.entries(config.standbys)) {
        const s = raw as StandbyLike;
        const node = id(t.stack, name);
        if (!primaryId) {
            continue;
        }
        if (s.tier === "hot") {
            nodes.push(`${node}[(${label(name, `${s.host}:${s.port}`, name === declaredPrimary ? "hot standby, declared primary" : "hot standby")})]`);
            edges.push(`${primaryId} ==>|${label(s.synchronous ? "synchronous streaming" : "streaming")}| ${node}`);
        } else if (s.tier === "warm") {
            nodes.push(`${node}[(${label(name, `${s.host}:${s.port}`, "warm standby")})]`);
            edges.push(`${id(t.stack, "wal_archive")} -.->|${label(`shipped every ${shipping?.shipInterval ?? "1h"}`, `applied after ${s.applyDelay ?? shipping?.applyDelay ?? "3h"}`)}| ${node}`);
        } else {
            nodes.push(`${node}[/${label(name, "cold standby: base backups + WAL", "server created at cutover")}/]`);
            edges.push(`${primaryId} -.->|${label(`base backup every ${s.baseBackupInterval ?? "24h"}`)}| ${node}`);
        }
    }
    const dr = config.disasterRecovery;
    if (dr && primaryId) {
        const source = byQualifiedName.get(dr.of);
        const sourceId = source
            ? (source.config as { shipping?: unknown }).shipping
                ? id(source.stack, "wal_archive")
                : id(source.stack, Object.keys(source.config.servers)[0])
            : id("external", dr.of);
        if (!source) {
            outside.push(`${sourceId}[(${label(dr.of)})]`);
        }
        const how = dr.tier === "warm" ? [`WAL shipped every ${dr.shipInterval}`, `applied after ${dr.applyDelay}`] : [`WAL shipped every ${dr.shipInterval}`, `base backups every ${dr.baseBackupInterval}`];
        edges.push(`${sourceId} -.->|${label(...how)}| ${primaryId}`);
        nodes[0] = `${primaryId}[(${label(primaryName, `${servers[0][1].host}:${servers[0][1].port}`, config.cutover ? "DR site, cut over" : `DR site (${dr.tier}), standing by`)})]`;
    }
    const production = config.production ? byQualifiedName.get(config.production.stack) : undefined;
    const productionServer = production ? Object.keys(production.config.servers)[0] : undefined;
    const target = production && productionServer ? id(production.stack, productionServer) : id("external", config.production?.stack ?? "");
    if (config.production) {
        if (!production) {
            outside.push(`${target}[(${label(config.production.stack)})]`);
        }
        for (const [name] of servers) {
            edges.push(`${id(t.stack, name)} -->|${label("lock binding")}| ${target}`);
        }
        for (const [scope, lock] of Object.entries(config.locks)) {
            edges.push(`${id(t.stack, servers[0][0])} -.->|${label(`holds lock ${scope}`, lock.reason)}| ${target}`);
        }
        if (config.copy) {
            edges.push(`${target} ==>|${label("copy, under the copy lock")}| ${id(t.stack, servers[0][0])}`);
        }
    }
    return { nodes, outside, edges };
}

/** One flowchart of every given stack; staging stages' bindings point at the production stack they name. */
export function topologyDiagram(stacks: StackTopology[]): string {
    const byQualifiedName = new Map(stacks.map((t) => [t.qualifiedName, t]));
    const lines = ["flowchart LR"];
    const outside = new Set<string>();
    const edges: string[] = [];
    for (const t of stacks) {
        const part = stageLines(t, byQualifiedName);
        lines.push(`    subgraph ${id("stack", t.stack)}[${label(`${t.stack}: ${t.config.stage}`)}]`);
        lines.push(...part.nodes.map((n) => `        ${n}`));
        lines.push("    end");
        part.outside.forEach((n) => outside.add(n));
        edges.push(...part.edges);
    }
    lines.push(...[...outside].map((n) => `    ${n}`), ...edges.map((e) => `    ${e}`));
    return lines.join("\n");
}
