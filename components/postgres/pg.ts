// One short-lived PostgreSQL connection for a piece of work; always closed.
import type { Client, ClientConfig } from "pg";

export async function withClient<T>(config: ClientConfig | string, work: (client: Client) => Promise<T>): Promise<T> {
    const { Client: PgClient } = require("pg") as typeof import("pg");
    const client = new PgClient(typeof config === "string" ? { connectionString: config } : config);
    await client.connect();
    try {
        return await work(client);
    } finally {
        await client.end();
    }
}
