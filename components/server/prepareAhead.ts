// Before the program builds anything: during an `up`, start initdb for each of the stage's servers
// that is about to be created, so it runs while the engine starts the provider (about a second); the
// servers' creates adopt the result (server/prepared.ts). program.js calls it before loading the
// rest of the program. Imports only what it needs, so it starts early.
import * as pulumi from "@pulumi/pulumi";
import { loadStageConfig } from "../config/config";
import { findPostgresBinDir, resolveDataRoot, serverOsUser } from "../platform/local";
import { prepareCluster } from "./prepared";
import { DATA_ROOT_MARKER } from "./dataRoot";
import { serverRole } from "../standby/hot/roles";

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
        const binDir = findPostgresBinDir(platform.binDir);
        const osUser = serverOsUser(platform.osUser);
        const dataRoot = resolveDataRoot(platform.dataRoot, pulumi.getStack(), projectDir, osUser);
        const owner = `${pulumi.getProject()}/${pulumi.getStack()}`;
        return Object.keys(config.servers).filter(
            (server) => serverRole(config, server).role === "primary" && prepareCluster({ dataRoot, owner, dataRootMarker: DATA_ROOT_MARKER, server, binDir, osUser }),
        );
    } catch {
        return [];
    }
}
