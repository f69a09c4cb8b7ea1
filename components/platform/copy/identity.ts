// The staging server keeps its own identity through a copy: its superuser and owner passwords (set
// back as SCRAM verifiers, the copy carries production's) and its own rows of the identity tables,
// saved before the copy and put back after the swap.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import type { Client } from "pg";
import * as cluster from "../cluster";
import type { ClusterLocation } from "../cluster";
import { ROW_ALIAS } from "./figures";
import type { CopyRequest } from "./types";

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

interface SavedRows {
    schema: string;
    table: string;
    /** The rows as a JSON array of objects (json_agg). */
    json: string;
    count: number;
}

export async function saveIdentityRows(loc: ClusterLocation, password: string, identity: CopyRequest["identity"]): Promise<SavedRows[]> {
    const client = await cluster.connect(loc, password, identity.database);
    try {
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const saved: SavedRows[] = [];
        for (const t of identity.tables) {
            const name = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.table)}`;
            try {
                const { rows } = await client.query(
                    `SELECT coalesce(json_agg(${ROW_ALIAS}), '[]'::json)::text AS json, count(*)::int AS count FROM ${name} ${ROW_ALIAS}`,
                );
                saved.push({ schema: t.schema, table: t.table, json: rows[0].json, count: rows[0].count });
            } catch (err) {
                throw new Error(`reading the identity table ${name} in database ${identity.database} of the staging server failed: ${(err as Error).message}`);
            }
        }
        await client.query("COMMIT");
        return saved;
    } finally {
        await client.end();
    }
}

/** Replaces the rows of the identity tables with the saved ones, in one transaction; returns the rows inserted. */
export async function restoreIdentityRows(loc: ClusterLocation, password: string, database: string, saved: SavedRows[]): Promise<number> {
    const client = await cluster.connect(loc, password, database);
    try {
        await client.query("BEGIN");
        for (const t of [...saved].reverse()) {
            await client.query(`DELETE FROM ${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.table)}`);
        }
        let inserted = 0;
        for (const t of saved) {
            const name = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.table)}`;
            const { rows } = await client.query(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                [name],
            );
            const columns = rows.map((r) => client.escapeIdentifier(r.attname as string)).join(", ");
            const result = await client.query(
                `INSERT INTO ${name} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM json_populate_recordset(NULL::${name}, $1::json)`,
                [t.json],
            );
            inserted += result.rowCount ?? 0;
        }
        await client.query("COMMIT");
        return inserted;
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new Error(`restoring the staging server's identity rows in database ${database} failed: ${(err as Error).message}`);
    } finally {
        await client.end();
    }
}
