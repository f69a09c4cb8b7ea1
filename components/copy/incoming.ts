// The incoming copy (pgdata.incoming) made the staging server's before the swap: its own configuration
// files in place of production's, no runtime files, its stagewise.conf for a given port; and the small
// helpers of the temporary server run on it to compute the snapshot's figures (a free port, the tail of
// its log, the system identifier) and of the copy's report (its size).
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";

/** The staging server's configuration files, carried over into the copy in place of production's. */
export const OWN_CONFIG_FILES = ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"];
/** Left by a running or restoring server; never part of a copy we start. */
const RUNTIME_FILES = ["postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal"];

export function removeRuntimeFiles(loc: ClusterLocation, dataDir: string): void {
    const host = cluster.hostOfServer(loc);
    for (const name of RUNTIME_FILES) {
        host.remove(path.join(dataDir, name));
    }
}

/** `stagewise.conf` as `cluster.writeSettings` writes it, for a data directory other than pgdata and a given port. */
export function settingsText(loc: ClusterLocation, settings: Record<string, string>, port: number): string {
    return cluster.settingsFileText({ ...loc, port }, settings);
}

/** Bytes under `dir` on the server's host (one call there, however many files). */
export function directorySize(loc: ClusterLocation, dir: string): number {
    return cluster.hostOfServer(loc).folderBytes(dir);
}

export function tail(loc: ClusterLocation, file: string, lines: number): string {
    try {
        return `last lines of ${file}:\n${cluster.hostOfServer(loc).readText(file).trimEnd().split("\n").slice(-lines).join("\n")}`;
    } catch {
        return "";
    }
}

export async function systemIdentifier(loc: ClusterLocation, password: string): Promise<string> {
    const client = await cluster.connect(loc, password);
    try {
        return (await client.query("SELECT system_identifier::text AS id FROM pg_control_system()")).rows[0].id as string;
    } finally {
        await client.end();
    }
}
