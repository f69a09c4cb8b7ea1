// Before the program builds anything: during an `up`, start initdb for each of the stage's servers
// that is about to be created, so it runs while the engine starts the provider (about a second); the
// servers' creates adopt the result (server/prepared.ts). program.js calls it before loading the
// rest of the program. Imports only what it needs, so it starts early.
import * as pulumi from "@pulumi/pulumi";
import { loadStageConfig } from "../config/config";
import { isHostName } from "../config/primitives";
import { hostPaths } from "../topology/hostPaths";
import { resolveStage } from "../topology/topology";
import { prepareCluster } from "./prepared";
import { DATA_ROOT_MARKER } from "./dataRoot";

let started = false;

/**
 * Starts preparing the clusters of the stage's servers whose folders do not exist yet. Not in a
 * preview, not on Docker or a DR site, not for a server declared a standby, and not with
 * STAGEWISE_PREPARE_AHEAD=0. Never throws: bad configuration is the program's to report. Returns the
 * servers it started preparing.
 */
export function prepareServersAhead(projectDir?: string): string[] {
    // Once per process: runtime/programPreload.js may have started it already, before program.js.
    if (started || pulumi.runtime.isDryRun() || process.env.STAGEWISE_PREPARE_AHEAD === "0") {
        return [];
    }
    started = true;
    try {
        const config = loadStageConfig();
        const platform = config.platform;
        if (platform.kind !== "local" || config.disasterRecovery) {
            return [];
        }
        // Only servers on this machine are prepared ahead: the hosts' places are not asked for here.
        const topology = resolveStage(config, pulumi.getStack(), hostPaths(config.platform, pulumi.getStack(), projectDir));
        const { binDir, osUser } = topology.paths;
        const dataRoot = topology.paths.dataRoot!; // local
        const owner = `${pulumi.getProject()}/${pulumi.getStack()}`;
        return Object.keys(topology.roles).filter(
            (server) => topology.roles[server].role === "primary" && !isHostName(config.servers[server].host) && prepareCluster({ dataRoot, owner, dataRootMarker: DATA_ROOT_MARKER, server, binDir, osUser }),
        );
    } catch {
        return [];
    }
}
