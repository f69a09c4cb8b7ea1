// The incoming copy (pgdata.incoming) made the staging server's before the swap: its own configuration
// files in place of production's, no runtime files, its stagewise.conf for a given port; and the small
// helpers of the temporary server run on it to compute the snapshot's figures (a free port, the tail of
// its log, the system identifier) and of the copy's report (its size).
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";

/** The staging server's configuration files, carried over into the copy in place of production's. */
export const OWN_CONFIG_FILES = ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"];
/** Left by a running or restoring server; never part of a copy we start. */
const RUNTIME_FILES = ["postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal"];

/** A file of the server's, written whole (temporary file, then rename) and given to its OS user. */
export function writeOwned(loc: ClusterLocation, file: string, content: string | Buffer): void {
    fs.writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
    cluster.chownToServerUser(loc, `${file}.tmp`);
    fs.renameSync(`${file}.tmp`, file);
}

export function removeRuntimeFiles(dataDir: string): void {
    for (const name of RUNTIME_FILES) {
        fs.rmSync(path.join(dataDir, name), { force: true });
    }
}

/** `stagewise.conf` as `cluster.writeSettings` writes it, for a data directory other than pgdata and a given port. */
export function settingsText(loc: ClusterLocation, settings: Record<string, string>, port: number): string {
    return cluster.settingsFileText({ ...loc, port }, settings);
}

export function directorySize(dir: string): number {
    let total = 0;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            total += directorySize(full);
        } else {
            total += fs.lstatSync(full).size;
        }
    }
    return total;
}

export function tail(file: string, lines: number): string {
    try {
        return `last lines of ${file}:\n${fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")}`;
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
