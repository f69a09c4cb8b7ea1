// Figures of a server's tables: row count and content checksum of every user table, each database
// read in one snapshot, and the comparison of two sets of figures. They verify a copy: computed on the
// incoming snapshot before the swap and on the staging server after it.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as crypto from "crypto";
import type { Client } from "pg";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import type { TableFigures } from "./copyTypes";

const FETCH_ROWS = 10_000;
/** Row alias in the figures' SQL: no real column is called that, so `alias::text` is the whole row. */
export const ROW_ALIAS = '"stagewise row"';

const USER_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1, 2`;

/**
 * Row count and content checksum of every user table of `databases`, each database read in one
 * snapshot, sorted by database, table. The checksum is the md5 of the rows' md5s (of `row::text`),
 * sorted, each followed by a newline; in SQL:
 * `md5(coalesce(string_agg(md5(t::text) || E'\n', '' ORDER BY md5(t::text) COLLATE "C"), ''))`.
 * The row hashes are streamed through a cursor, so tables of any size fit in memory.
 */
export async function tableFigures(loc: ClusterLocation, superuserPassword: string, databases: string[]): Promise<TableFigures[]> {
    return figuresOf(loc, superuserPassword, databases, () => true);
}

export async function figuresOf(
    loc: ClusterLocation,
    password: string,
    databases: string[],
    include: (database: string, table: string) => boolean,
): Promise<TableFigures[]> {
    const figures: TableFigures[] = [];
    for (const database of databases) {
        const client = await cluster.connect(loc, password, database);
        try {
            await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
            const { rows } = await client.query(USER_TABLES_SQL);
            for (const r of rows) {
                const table = `${r.schema}.${r.table}`;
                if (include(database, table)) {
                    figures.push({ database, table, ...(await tableChecksum(client, r.schema, r.table)) });
                }
            }
            await client.query("COMMIT");
        } finally {
            await client.end();
        }
    }
    return figures.sort((a, b) => (a.database !== b.database ? (a.database < b.database ? -1 : 1) : a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
}

async function tableChecksum(client: Client, schema: string, table: string): Promise<{ rows: number; checksum: string }> {
    const name = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`;
    await client.query(`DECLARE stagewise_figures NO SCROLL CURSOR FOR SELECT md5(${ROW_ALIAS}::text) COLLATE "C" FROM ${name} ${ROW_ALIAS} ORDER BY 1`);
    const hash = crypto.createHash("md5");
    let rows = 0;
    for (;;) {
        const batch = await client.query({ text: `FETCH ${FETCH_ROWS} FROM stagewise_figures`, rowMode: "array" });
        for (const row of batch.rows as string[][]) {
            hash.update(`${row[0]}\n`);
        }
        rows += batch.rows.length;
        if (batch.rows.length < FETCH_ROWS) {
            break;
        }
    }
    await client.query("CLOSE stagewise_figures");
    return { rows, checksum: hash.digest("hex") };
}

/** Differences between two sets of figures, one line each. */
export function compareFigures(expected: TableFigures[], actual: TableFigures[], expectedName: string, actualName: string): string[] {
    const problems: string[] = [];
    const byKey = new Map(actual.map((f) => [figureKey(f.database, f.table), f]));
    for (const e of expected) {
        const key = figureKey(e.database, e.table);
        const a = byKey.get(key);
        byKey.delete(key);
        if (a === undefined) {
            problems.push(`${e.database}.${e.table} is on the ${expectedName} but not on the ${actualName}`);
        } else if (a.rows !== e.rows || a.checksum !== e.checksum) {
            problems.push(`${e.database}.${e.table}: ${e.rows} rows (${e.checksum}) on the ${expectedName}, ${a.rows} rows (${a.checksum}) on the ${actualName}`);
        }
    }
    for (const a of byKey.values()) {
        problems.push(`${a.database}.${a.table} is on the ${actualName} but not on the ${expectedName}`);
    }
    return problems;
}

export function figureKey(database: string, table: string): string {
    return JSON.stringify([database, table]);
}
