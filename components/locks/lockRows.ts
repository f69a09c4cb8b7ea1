// Administrative locks and lock bindings, kept as rows in a server's configuration database so they
// survive restarts and every stack (and the engine) can see them. Plain Node (no Pulumi).
//
// A lock has a scope ("copy", "admin", ...) and at most one holder per scope; taking a lock another
// holder has fails at once, naming the holder, or after a bounded wait. A binding records that a
// staging server is bound to this (production) server.
import type { Client } from "pg";
export { withClient } from "../postgres/pg";

export const LOCK_TABLE = '"stagewise"."AdministrativeLock"';
export const BINDING_TABLE = '"stagewise"."LockBinding"';

const SCHEMA_SQL = `
CREATE SCHEMA IF NOT EXISTS "stagewise";
CREATE TABLE IF NOT EXISTS ${LOCK_TABLE} (
    "Scope"      text PRIMARY KEY,
    "Holder"     text NOT NULL,
    "Stage"      text NOT NULL,
    "Reason"     text NOT NULL,
    "AcquiredAt" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${BINDING_TABLE} (
    "StagingStack"  text NOT NULL,
    "StagingServer" text NOT NULL,
    "Stage"         text NOT NULL,
    "Endpoint"      text NOT NULL,
    "BoundAt"       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY ("StagingStack", "StagingServer")
);
`;

export interface LockRequest {
    scope: string;
    /** `<project>/<stack>` taking the lock. */
    holder: string;
    stage: string;
    reason: string;
    /** How long to wait for another holder to release it. @default 0 (fail at once) */
    waitSeconds?: number;
    /** Take over a lock held by exactly this holder (an explicit, named break; never implied). */
    breakHeldBy?: string;
}

export interface LockRecord {
    scope: string;
    holder: string;
    stage: string;
    reason: string;
    acquiredAt: string;
}

/** The error for a lock held by someone else; `held` names the holder. A plain Error (no subclass): it
 * crosses the dynamic provider's serialization intact. */
export function lockHeldError(held: LockRecord): Error & { held: LockRecord } {
    return Object.assign(
        new Error(
            `administrative lock "${held.scope}" is held by ${held.holder} (${held.stage}) since ${held.acquiredAt}: ${held.reason}. ` +
                `Wait for it to be released, or, if ${held.holder} no longer exists, break it explicitly with breakHeldBy: "${held.holder}"`,
        ),
        { held },
    );
}

/** Creates the lock and binding tables when missing (idempotent; safe when several stacks race). */
export async function ensureLockTables(client: Client): Promise<void> {
    // Serialized: concurrent CREATE ... IF NOT EXISTS can still collide on the catalog.
    await client.query("SELECT pg_advisory_lock(hashtext('stagewise.schema'))");
    try {
        await client.query(SCHEMA_SQL);
    } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext('stagewise.schema'))");
    }
}

function toRecord(row: Record<string, unknown>): LockRecord {
    return {
        scope: row.Scope as string,
        holder: row.Holder as string,
        stage: row.Stage as string,
        reason: row.Reason as string,
        acquiredAt: new Date(row.AcquiredAt as string).toISOString(),
    };
}

export async function currentLock(client: Client, scope: string): Promise<LockRecord | undefined> {
    const { rows } = await client.query(`SELECT * FROM ${LOCK_TABLE} WHERE "Scope" = $1`, [scope]);
    return rows[0] ? toRecord(rows[0]) : undefined;
}

/**
 * Takes the lock, or confirms this holder has it (re-taking is idempotent and keeps the original
 * time). Throws lockHeldError(...) when another holder keeps it past the wait.
 */
export async function acquireLock(client: Client, req: LockRequest): Promise<LockRecord> {
    await ensureLockTables(client);
    const deadline = Date.now() + (req.waitSeconds ?? 0) * 1000;
    for (;;) {
        const { rows } = await client.query(
            `INSERT INTO ${LOCK_TABLE} ("Scope", "Holder", "Stage", "Reason") VALUES ($1, $2, $3, $4)
             ON CONFLICT ("Scope") DO UPDATE SET "Reason" = EXCLUDED."Reason", "Stage" = EXCLUDED."Stage"
                 WHERE ${LOCK_TABLE}."Holder" = EXCLUDED."Holder"
             RETURNING *`,
            [req.scope, req.holder, req.stage, req.reason],
        );
        if (rows[0]) {
            return toRecord(rows[0]);
        }
        const held = await currentLock(client, req.scope);
        if (held === undefined) {
            continue; // released between the two statements: try again
        }
        if (req.breakHeldBy !== undefined && req.breakHeldBy === held.holder) {
            const taken = await client.query(
                `UPDATE ${LOCK_TABLE} SET "Holder" = $2, "Stage" = $3, "Reason" = $4, "AcquiredAt" = now()
                 WHERE "Scope" = $1 AND "Holder" = $5 RETURNING *`,
                [req.scope, req.holder, req.stage, req.reason, held.holder],
            );
            if (taken.rows[0]) {
                return toRecord(taken.rows[0]);
            }
            continue;
        }
        if (Date.now() >= deadline) {
            throw lockHeldError(held);
        }
        await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, deadline - Date.now()))));
    }
}

/** Releases the lock if this holder has it; returns whether it did. Releasing twice is harmless. */
export async function releaseLock(client: Client, scope: string, holder: string): Promise<boolean> {
    await ensureLockTables(client);
    const { rowCount } = await client.query(`DELETE FROM ${LOCK_TABLE} WHERE "Scope" = $1 AND "Holder" = $2`, [scope, holder]);
    return (rowCount ?? 0) > 0;
}

export interface BindingRecord {
    stagingStack: string;
    stagingServer: string;
    stage: string;
    endpoint: string;
    boundAt: string;
}

export async function bind(client: Client, b: Omit<BindingRecord, "boundAt">): Promise<BindingRecord> {
    await ensureLockTables(client);
    const { rows } = await client.query(
        `INSERT INTO ${BINDING_TABLE} ("StagingStack", "StagingServer", "Stage", "Endpoint") VALUES ($1, $2, $3, $4)
         ON CONFLICT ("StagingStack", "StagingServer") DO UPDATE SET "Stage" = EXCLUDED."Stage", "Endpoint" = EXCLUDED."Endpoint"
         RETURNING *`,
        [b.stagingStack, b.stagingServer, b.stage, b.endpoint],
    );
    return toBinding(rows[0]);
}

export async function unbind(client: Client, stagingStack: string, stagingServer: string): Promise<void> {
    await ensureLockTables(client);
    await client.query(`DELETE FROM ${BINDING_TABLE} WHERE "StagingStack" = $1 AND "StagingServer" = $2`, [stagingStack, stagingServer]);
}

export async function listBindings(client: Client): Promise<BindingRecord[]> {
    await ensureLockTables(client);
    const { rows } = await client.query(`SELECT * FROM ${BINDING_TABLE} ORDER BY "StagingStack", "StagingServer"`);
    return rows.map(toBinding);
}

function toBinding(row: Record<string, unknown>): BindingRecord {
    return {
        stagingStack: row.StagingStack as string,
        stagingServer: row.StagingServer as string,
        stage: row.Stage as string,
        endpoint: row.Endpoint as string,
        boundAt: new Date(row.BoundAt as string).toISOString(),
    };
}
