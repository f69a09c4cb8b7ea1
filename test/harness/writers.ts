// Clients that keep committing numbered rows and record each commit the server acknowledged, so a
// test or benchmark can count exactly which acknowledged commits a switchover or failover lost.
import type { ClientConfig } from "pg";

export interface Writers {
    /** Ids whose COMMIT returned successfully, so far. */
    acknowledged(): number[];
    /** The error that stopped the last client that stopped, if any. */
    lastError(): string | undefined;
    /** Stops every client (a client whose server went away has stopped already); resolves with the acknowledged ids. */
    stop(): Promise<number[]>;
}

/**
 * `clients` connections, each inserting rows into `table` (id bigint primary key) one autocommitted
 * transaction at a time, with ids from `firstId` interleaved by client. A client stops at its first error (its
 * server went away): the commit in flight then is not acknowledged and not counted.
 */
export function startWriters(connection: ClientConfig, table: string, clients = 4, firstId = 1): Writers {
    const { Client } = require("pg") as typeof import("pg");
    const acked: number[] = [];
    let stopping = false;
    let lastError: string | undefined;
    const loops = Array.from({ length: clients }, async (_, k) => {
        const client = new Client({ ...connection, connectionTimeoutMillis: 5_000 });
        client.on("error", () => undefined); // a killed server ends the connection; the query below reports it
        try {
            await client.connect();
            for (let n = 0; !stopping; n++) {
                const id = firstId + n * clients + k;
                await client.query(`INSERT INTO ${table} (id) VALUES ($1)`, [id]);
                acked.push(id);
            }
        } catch (err) {
            lastError = (err as Error).message; // the server went away: this client is done
        } finally {
            await client.end().catch(() => undefined);
        }
    });
    return {
        acknowledged: () => [...acked],
        lastError: () => lastError,
        async stop() {
            stopping = true;
            await Promise.all(loops);
            return [...acked];
        },
    };
}

/** Waits until at least `count` commits were acknowledged (or throws after `timeoutMs`). */
export async function waitForCommits(writers: Writers, count: number, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (writers.acknowledged().length < count) {
        if (Date.now() > deadline) {
            throw new Error(`only ${writers.acknowledged().length} of ${count} commits acknowledged within ${timeoutMs / 1000} s (${writers.lastError() ?? "no error"})`);
        }
        await new Promise((r) => setTimeout(r, 50));
    }
}

/** SQL counting the ids of `acked` missing from `table` (pass `acked` as $1). */
export function missingCountSql(table: string): string {
    return `SELECT count(*)::int AS missing FROM unnest($1::bigint[]) AS a(id) WHERE NOT EXISTS (SELECT 1 FROM ${table} t WHERE t.id = a.id)`;
}
