// One short-lived PostgreSQL connection for a piece of work; always closed. And the names a
// connection needs: the superuser, a host in a URL.
import type { Client, ClientConfig } from "pg";

export const SUPERUSER = "postgres";

/** A host as it stands in a URL or a host:port list: an IPv6 address in brackets. */
export function hostForUrl(host: string): string {
    return host.includes(":") ? `[${host}]` : host;
}

/** How long a connection may take unless the caller says otherwise: a host cut off answers nothing, and TCP alone would wait minutes. */
export const CONNECT_TIMEOUT_MS = 10_000;

export async function withClient<T>(config: ClientConfig | string, work: (client: Client) => Promise<T>): Promise<T> {
    const { Client: PgClient } = require("pg") as typeof import("pg");
    const client = new PgClient({ connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...(typeof config === "string" ? { connectionString: config } : config) });
    await client.connect();
    try {
        return await work(client);
    } finally {
        await client.end();
    }
}
