// Clients follow a new primary by themselves only when the members share a subnet (the runbook's IP
// alias; here a multi-host connection string). Across subnets they must be redirected by hand: the
// third runbook's manual switch-over, written out as ordered steps. Pure functions.

export interface Endpoint {
    name: string;
    host: string;
    port: number;
}

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|::1)$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/**
 * Whether the hosts share one subnet: all loopback (one machine), all IPv4 in one /24, or all the
 * same name. Differing host names cannot be placed, so they count as different subnets.
 */
export function sameSubnet(hosts: string[]): boolean {
    if (hosts.every((h) => LOOPBACK.test(h))) {
        return true;
    }
    if (hosts.every((h) => IPV4.test(h))) {
        const prefixes = new Set(hosts.map((h) => h.split(".").slice(0, 3).join(".")));
        return prefixes.size === 1;
    }
    return new Set(hosts.map((h) => h.toLowerCase())).size === 1;
}

/**
 * The manual redirection to `primary` when the members are on different subnets: ordered steps,
 * naming the new address and what to point at it.
 */
export function redirectionRunbook(primary: Endpoint, others: Endpoint[], databases: string[]): string[] {
    const at = `${primary.host}:${primary.port}`;
    const formerly = others.map((o) => `${o.name} (${o.host}:${o.port})`).join(", ");
    return [
        `1. Confirm ${primary.name} at ${at} accepts writes: SELECT pg_is_in_recovery() returns false.`,
        `2. Confirm no other member accepts writes (${formerly}): each is stopped or answers pg_is_in_recovery() = true; stop any that does not before going on.`,
        `3. Stop the engine units and every client that writes, so none keeps writing to a former primary.`,
        `4. Redirect the engine's clients to ${at}: the databases ${databases.join(", ")} (connection strings, ODBC data sources, engine configuration files).`,
        `5. Redirect the peripheral devices and reporting tools that reach the database server by address or name to ${primary.host}.`,
        `6. Update references to the old machine names (DNS records, hosts files, firewall rules) so ${primary.name} is found under the name clients use.`,
        `7. Start the engine units and clients again, and check one write and one read through the new address.`,
    ];
}
