// The public shapes of platform/copy (see index.ts): what a caller asks for (CopyRequest) and what it
// gets back (CopyReport with its TableFigures, RecoveryReport). Types only, kept apart so every file of
// the copy can name them without importing another file's code.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import type { ClusterLocation } from "../postgres/cluster";

export interface CopyRequest {
    /** Production: only read, never written. */
    source: { host: string; port: number; superuserPassword: string };
    /** The staging server (running). */
    target: ClusterLocation;
    /** The staging server's own superuser password. */
    targetSuperuserPassword: string;
    /** The staging server's user settings (as for `writeSettings`). */
    targetSettings: Record<string, string>;
    /** Role owning the engine's databases, e.g. "engine". */
    ownerRole: string;
    /** The staging server's own password for that role. */
    ownerPassword: string;
    /** Engine databases to verify, e.g. ["work", "business", "config"]. */
    databases: string[];
    /** The staging server's own rows to keep. */
    identity: { database: string; tables: { schema: string; table: string }[] };
    onProgress?: (message: string) => void;
}

export interface TableFigures {
    database: string;
    /** `Schema.Table`. */
    table: string;
    rows: number;
    /** md5 over the sorted md5 of each row's text (see `tableFigures`). */
    checksum: string;
}

export interface CopyReport {
    method: "pg_basebackup";
    /** Size of the copied data directory, in bytes. */
    bytes: number;
    startedAt: string;
    finishedAt: string;
    sourceSystemIdentifier: string;
    /** Figures of the copy (the staging server after the swap), sorted by database, table. */
    tables: TableFigures[];
    identityRowsRestored: number;
    /** It throws instead of returning false. */
    verified: true;
}

export interface RecoveryReport {
    /** none: nothing to recover; cleaned: leftovers of an unfinished copy removed, the databases were
     * never swapped; rolled back: the previous databases are back in place; completed: a committed copy's
     * leftovers removed. */
    outcome: "none" | "cleaned" | "rolled back" | "completed";
    /** What was found and done, one line each. */
    actions: string[];
}
