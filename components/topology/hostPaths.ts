// The places of a stage on the deploying machine: the PostgreSQL programs, the servers' OS
// user and the data root (the configured one, or the default, moved under SHARED_DATA_BASE when that
// user cannot enter the project's folder). Asked once, before the topology is resolved.
import * as path from "path";
import type { StageConfig } from "../config/config";
import { findPostgresBinDir, resolveDataRoot, serverOsUser, SHARED_DATA_BASE } from "../platform/local";
import { HostPaths, resolveStage, StageTopology } from "./topology";

export interface LocalPlaces extends HostPaths {
    /** The default data root was moved because the servers' OS user cannot enter the project's folder. */
    readonly moved: boolean;
}

/** The places of `stack` on the deploying machine (on docker only the programs); throws when the PostgreSQL programs are not found. */
export function hostPaths(platform: StageConfig["platform"], stack: string, projectDir?: string): LocalPlaces {
    const binDir = findPostgresBinDir(platform.binDir);
    if (platform.kind !== "local") {
        return { binDir, dataRoot: undefined, osUser: undefined, moved: false };
    }
    const osUser = serverOsUser(platform.osUser);
    const dataRoot = resolveDataRoot(platform.dataRoot, stack, projectDir, osUser);
    return { binDir, osUser, dataRoot, moved: platform.dataRoot === undefined && dataRoot.startsWith(SHARED_DATA_BASE + path.sep) };
}

/** The topology of `stack` with its places on this machine (what a stage component resolves once). */
export function stageTopology(config: StageConfig, stack: string, projectDir?: string): StageTopology {
    return resolveStage(config, stack, hostPaths(config.platform, stack, projectDir));
}
