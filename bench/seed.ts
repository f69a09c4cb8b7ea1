// Synthetic engine data for benchmarks (business documents of about 1 kB each, checkpointed), and the copy they time.
import { ClusterLocation, connect } from "../components/postgres/cluster";
import type { CopyRequest } from "../components/copy/stagingCopy";
import { DATABASE_ROLES } from "../components/engine/referenceSchema";
import { ENGINE_TABLES } from "../test/harness/postgres";

/** The copy the benchmarks time: every engine database of `prod` onto `target`, both with `password` for their superuser. */
export function benchCopyRequest(prod: ClusterLocation, target: ClusterLocation, password: string): CopyRequest {
    return {
        source: { host: prod.host, port: prod.port, superuserPassword: password },
        target,
        targetSuperuserPassword: password,
        targetSettings: {},
        ownerRole: "engine",
        ownerPassword: "bench-engine",
        databases: [...DATABASE_ROLES],
        identity: { database: "config", tables: [ENGINE_TABLES.server, ENGINE_TABLES.licenseKey] },
    };
}

export async function seedBusinessDocuments(loc: ClusterLocation, superuserPassword: string, megabytes: number): Promise<void> {
    const client = await connect(loc, superuserPassword, "business");
    try {
        await client.query(
            `INSERT INTO "Business"."Document" ("Reference", "Payload") SELECT 'DOC-' || g, jsonb_build_object('text', repeat(md5(g::text), 30)) FROM generate_series(1, $1::int) g`,
            [megabytes * 1000],
        );
        await client.query("CHECKPOINT");
    } finally {
        await client.end();
    }
}
