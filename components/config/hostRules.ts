// The rules that tie a stage's members to `hosts` (hostSchema.ts): a member names a declared host,
// and what members on other machines can do yet. No Pulumi here.
import type { CrossCheck, PathProblem } from "./checkTypes";
import { isHostName } from "./primitives";

/** What the rules read of members and hosts. */
interface Placed {
    servers: Record<string, { host?: string }>;
    standbys: Record<string, { tier: string; host?: string }>;
    hosts?: Record<string, { lost?: boolean }>;
    primary?: string;
}

/** The members (servers, then standbys) whose `host` names one of `hosts`, with the path of that `host`. */
export function membersOnHosts(config: Placed): { key: "servers" | "standbys"; name: string; host: string }[] {
    const onHost = (key: "servers" | "standbys", members: Record<string, { host?: string }>) =>
        Object.entries(members).flatMap(([name, m]) => (m.host !== undefined && isHostName(m.host) ? [{ key, name, host: m.host }] : []));
    return [...onHost("servers", config.servers), ...onHost("standbys", config.standbys ?? {})];
}

export const membersNameDeclaredHosts: CrossCheck = {
    name: "a member's host is one of hosts",
    needs: ["servers", "standbys", "hosts"],
    check(config) {
        const declaredHosts = Object.keys(config.hosts ?? {});
        return membersOnHosts(config)
            .filter((m) => !declaredHosts.includes(m.host))
            .map((m) => ({
                path: [m.key, m.name, "host"],
                message: `"${m.host}" is not one of hosts (${declaredHosts.length > 0 ? `declared: ${declaredHosts.join(", ")}` : "none is declared"}; declare it as hosts.${m.host} with address, user, privateKey and hostKey)`,
            }));
    },
};

/** What members on other machines can do today; the rest stays on the deploying machine for now. */
const REMOTE_NOT_YET = "with members on hosts: not available on SSH hosts yet (keep this stage's members on the deploying machine for it)";

export const remoteMembersAreServersAndHotStandbys: CrossCheck = {
    name: "members on hosts are servers and standbys, with copies, backups, shipping, promotion and DR sites (for now)",
    needs: ["servers", "standbys", "hosts", "platform", "backups", "engine"],
    check(config) {
        const remote = membersOnHosts(config);
        if (remote.length === 0) {
            return [];
        }
        const problems: PathProblem[] = [];
        if (config.platform.kind !== "local") {
            problems.push({ path: [remote[0].key, remote[0].name, "host"], message: `names a host: members on hosts run on the local platform's kind of server (use platform.kind: local)` });
        }
        // Shipping's archive is the primary's own: a warm standby on a host reads it from the primary's
        // PostgreSQL, which a server on this machine's loopback does not offer to other machines.
        const serverOnHost = remote.some((m) => m.key === "servers");
        for (const m of remote.filter((m) => m.key === "standbys" && config.standbys[m.name].tier !== "hot" && !serverOnHost)) {
            problems.push({ path: ["standbys", m.name, "host"], message: "names a host while the server is on this machine's loopback, which no other machine reaches (put the server on a host too, or keep this standby here)" });
        }
        for (const [name, standby] of Object.entries(config.standbys)) {
            if (serverOnHost && standby.tier !== "hot" && !remote.some((m) => m.key === "standbys" && m.name === name)) {
                problems.push({ path: ["standbys", name, "host"], message: `a ${standby.tier} standby of a server on another host is kept on a host too (name one of hosts)` });
            }
        }
        // The backup sets live beside the servers: on their one host.
        const serverMachines = new Set(Object.entries(config.servers).map(([name]) => remote.find((m) => m.key === "servers" && m.name === name)?.host ?? "this machine"));
        if (config.backups !== undefined && serverMachines.size > 1) {
            problems.push({ path: ["backups"], message: `with servers on several machines (${[...serverMachines].join(", ")}): not available yet (keep the stage's servers on one host for backups)` });
        }
        if (Object.keys(config.engine.units).length > 0) {
            problems.push({ path: ["engine", "units"], message: REMOTE_NOT_YET });
        }
        return problems;
    },
};

export const replicationGroupIsOnHostsOrHere: CrossCheck = {
    name: "a replication group is on hosts or on this machine, not both",
    needs: ["servers", "standbys", "hosts"],
    check(config) {
        // A member on this machine listens on loopback: members on hosts could not reach it, nor it them.
        const remote = new Set(membersOnHosts(config).map((m) => `${m.key}.${m.name}`));
        const servers = Object.keys(config.servers);
        const hot = Object.entries(config.standbys ?? {}).filter(([, s]) => s.tier === "hot").map(([name]) => name);
        if (hot.length === 0 || servers.length !== 1) {
            return [];
        }
        const serverRemote = remote.has(`servers.${servers[0]}`);
        return hot
            .filter((name) => remote.has(`standbys.${name}`) !== serverRemote)
            .map((name) => ({
                path: ["standbys", name, "host"],
                message: serverRemote
                    ? `is on this machine while servers.${servers[0]} is on host ${config.servers[servers[0]].host}: members on hosts cannot reach a loopback address (put this standby on a host too)`
                    : `names a host while servers.${servers[0]} is on this machine's loopback, which no other host can reach (put the server on a host too, or this standby here)`,
            }));
    },
};

export const primaryIsNotOnALostHost: CrossCheck = {
    name: "the declared primary is not on a host declared lost",
    needs: ["servers", "standbys", "hosts", "primary"],
    check(config) {
        const primary = config.primary ?? Object.keys(config.servers)[0];
        const onHost = membersOnHosts(config).find((m) => m.name === primary);
        if (onHost === undefined || config.hosts?.[onHost.host]?.lost !== true) {
            return [];
        }
        const others = Object.entries(config.standbys ?? {}).filter(([name, s]) => s.tier === "hot" && name !== primary).map(([name]) => name);
        return [
            {
                path: config.primary === undefined ? ["hosts", onHost.host, "lost"] : ["primary"],
                message:
                    `${primary} is the primary and its host ${onHost.host} is declared lost: declare another member the primary to fail over` +
                    (others.length > 0 ? ` (e.g. pulumi config set primary ${others[0]})` : " (this stage has no hot standby to take over)"),
            },
        ];
    },
};
