// A site's own rows of its identity tables (the runbook's Server.Server and HostServer.LicenseKey):
// read in one snapshot and put back in one transaction. LicenseReapplication uses this around a
// cutover or restore, and the staging copy around its swap, so that neither leaves another site's
// licence behind. Plain functions over an open connection, no Pulumi.
import type { Client } from "pg";

export interface IdentityTable {
    schema: string;
    table: string;
}

/** Rows by "Schema.Table", as JSON objects (timestamps and dates stay text). */
export type IdentityRows = Record<string, Record<string, unknown>[]>;

export const identityTableName = (t: IdentityTable): string => `${t.schema}.${t.table}`;

// The whole-row alias: a column of the same name would shadow a short one such as "r".
const ROW = '"stagewise row"';

const qualified = (client: Client, t: IdentityTable) => `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.table)}`;

/** The tables' rows, all read in one snapshot. A table that cannot be read is named in the error. */
export async function readIdentityRows(client: Client, tables: IdentityTable[]): Promise<IdentityRows> {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    try {
        const rows: IdentityRows = {};
        for (const t of tables) {
            try {
                const { rows: result } = await client.query(`SELECT coalesce(json_agg(${ROW}), '[]'::json)::text AS rows FROM ${qualified(client, t)} ${ROW}`);
                rows[identityTableName(t)] = JSON.parse(result[0].rows as string);
            } catch (err) {
                throw new Error(`reading the identity table ${identityTableName(t)} failed: ${(err as Error).message}`);
            }
        }
        await client.query("COMMIT");
        return rows;
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}

/**
 * Replaces the tables' rows with `rows` in one transaction (deleted in reverse order, inserted in order,
 * for tables that refer to each other), identity columns as given and generated columns recomputed.
 * Returns the number of rows put back; on any error nothing is changed.
 */
export async function replaceIdentityRows(client: Client, tables: IdentityTable[], rows: IdentityRows): Promise<number> {
    await client.query("BEGIN");
    try {
        for (const t of [...tables].reverse()) {
            await client.query(`DELETE FROM ${qualified(client, t)}`);
        }
        let inserted = 0;
        for (const t of tables) {
            const name = qualified(client, t);
            const { rows: columnRows } = await client.query(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                [name],
            );
            const columns = columnRows.map((r) => client.escapeIdentifier(r.attname as string)).join(", ");
            const result = await client.query(
                `INSERT INTO ${name} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM json_populate_recordset(NULL::${name}, $1::json)`,
                [JSON.stringify(rows[identityTableName(t)] ?? [])],
            );
            inserted += result.rowCount ?? 0;
        }
        await client.query("COMMIT");
        return inserted;
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
    }
}
