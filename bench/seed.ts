// Synthetic engine data for benchmarks: business documents of about 1 kB each, checkpointed.
import { ClusterLocation, connect } from "../components/postgres/cluster";

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
