// The staging server keeps its own identity through a copy: its superuser and owner passwords (set
// back as SCRAM verifiers, the copy carries production's) and its own rows of the identity tables,
// saved before the copy and put back after the swap.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import type { Client } from "pg";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { IdentityRows, IdentityTable, readIdentityRows, replaceIdentityRows } from "../engine/identityRows";
import type { CopyRequest } from "./copyTypes";

export async function resetPasswords(loc: ClusterLocation, req: CopyRequest): Promise<void> {
    let admin: Client;
    try {
        admin = await cluster.connect(loc, req.source.superuserPassword);
    } catch (err) {
        throw new Error(`connecting to the copy with production's superuser password failed: ${(err as Error).message}`);
    }
    try {
        const owner = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [req.ownerRole]);
        if (!owner.rowCount) {
            throw new Error(`the copy has no role ${req.ownerRole}`);
        }
        await admin.query("BEGIN");
        await admin.query(`ALTER ROLE ${cluster.SUPERUSER} PASSWORD ${admin.escapeLiteral(cluster.scramVerifier(req.targetSuperuserPassword))}`);
        await admin.query(`ALTER ROLE ${admin.escapeIdentifier(req.ownerRole)} PASSWORD ${admin.escapeLiteral(cluster.scramVerifier(req.ownerPassword))}`);
        await admin.query("COMMIT");
    } finally {
        await admin.end();
    }
}

export interface SavedRows {
    tables: IdentityTable[];
    rows: IdentityRows;
}

/** The staging server's own identity rows, read in one snapshot before the copy replaces them. */
export async function saveIdentityRows(loc: ClusterLocation, password: string, identity: CopyRequest["identity"]): Promise<SavedRows> {
    const client = await cluster.connect(loc, password, identity.database);
    try {
        return { tables: identity.tables, rows: await readIdentityRows(client, identity.tables) };
    } catch (err) {
        throw new Error(`${(err as Error).message} (database ${identity.database} of the staging server)`);
    } finally {
        await client.end();
    }
}

/** Puts the saved rows back in place of the copied ones, in one transaction; returns the rows inserted. */
export async function restoreIdentityRows(loc: ClusterLocation, password: string, database: string, saved: SavedRows): Promise<number> {
    const client = await cluster.connect(loc, password, database);
    try {
        return await replaceIdentityRows(client, saved.tables, saved.rows);
    } catch (err) {
        throw new Error(`restoring the staging server's identity rows in database ${database} failed: ${(err as Error).message}`);
    } finally {
        await client.end();
    }
}
