// Who holds a TCP port on this machine, read from /proc (Linux), so "port in use" errors can name
// the process instead of leaving the operator to hunt for it.
import * as fs from "fs";
import { waitUntil } from "../postgres/poll";

/** Inodes of the sockets listening on `port` (IPv4 and IPv6). */
function listeningInodes(port: number): Set<string> {
    const inodes = new Set<string>();
    for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
        let text: string;
        try {
            text = fs.readFileSync(table, "utf8");
        } catch {
            continue;
        }
        for (const line of text.split("\n").slice(1)) {
            const fields = line.trim().split(/\s+/);
            // local_address is HEXIP:HEXPORT; state 0A is LISTEN; field 9 is the inode.
            if (fields.length > 9 && fields[3] === "0A" && parseInt(fields[1].split(":")[1], 16) === port) {
                inodes.add(fields[9]);
            }
        }
    }
    return inodes;
}

/** "pid 1234 (postgres -D /srv/data)" for the process listening on `port`, when it can be seen. */
export function describePortHolder(port: number): string | undefined {
    const inodes = listeningInodes(port);
    if (inodes.size === 0) {
        return undefined;
    }
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
        let fds: string[];
        try {
            fds = fs.readdirSync(`/proc/${pid}/fd`);
        } catch {
            continue; // not ours to look at, or gone
        }
        for (const fd of fds) {
            try {
                const target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
                const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
                if (inode !== undefined && inodes.has(inode)) {
                    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
                    return `pid ${pid} (${cmdline})`;
                }
            } catch {
                // closed while we looked
            }
        }
    }
    return "a process this user cannot see";
}

/** Whether nothing listens on `host:port` here. */
export async function portIsFree(host: string, port: number): Promise<boolean> {
    const net = require("net") as typeof import("net");
    return new Promise((resolve) => {
        const probe = net.createServer();
        probe.once("error", () => resolve(false));
        probe.listen(port, host, () => probe.close(() => resolve(true)));
    });
}

// Ports for temporary servers (and test servers) come from below Linux's ephemeral range (32768 and
// up): a port the kernel hands out for port 0 can be handed again, before our server binds it, to
// another process binding port 0 — an engine's gRPC server, say.
export const SPARE_PORTS = { first: 20000, last: 32000 } as const;

/** A free TCP port on `host` from SPARE_PORTS, trying `from` (default: a random one) and upward; asked on `on`'s machine when given. */
export async function freeLoopbackPort(host: string, from?: number, on?: RemoteProbe): Promise<number> {
    const span = SPARE_PORTS.last - SPARE_PORTS.first + 1;
    const start = from === undefined ? Math.floor(Math.random() * span) : (((from - SPARE_PORTS.first) % span) + span) % span;
    for (let i = 0; i < span; i++) {
        const port = SPARE_PORTS.first + ((start + i) % span);
        if (await (on !== undefined ? on.portIsFree(host, port) : portIsFree(host, port))) {
            return port;
        }
    }
    throw new Error(`no free port on ${host}${on !== undefined ? ` (${on.machine.name})` : ""} between ${SPARE_PORTS.first} and ${SPARE_PORTS.last}`);
}

/** A host of another machine, as far as a port check needs it. */
export interface RemoteProbe {
    machine: { name: string };
    portIsFree(address: string, port: number): Promise<boolean>;
}

/** How long a taken port is tried again before it is refused. */
export const BRIEFLY_HELD_WAIT_MS = 5_000;

/**
 * Fails, naming the port, its holder when it can be seen, and the setting to change, when the port is
 * taken. A port is often held for a moment only (a probe, a process's listener on a kernel-chosen
 * port that ends at once), so it is tried again for `waitMs` before it is refused.
 */
export async function assertPortFree(host: string, port: number, setting: string, what: string, waitMs = BRIEFLY_HELD_WAIT_MS, on?: RemoteProbe): Promise<void> {
    // On another machine the port is asked about there; its holder is not looked up (/proc is that host's).
    await waitUntil(() => (on !== undefined ? on.portIsFree(host, port) : portIsFree(host, port)), {
        timeoutMs: waitMs,
        intervalMs: 250,
        failure: () => {
            if (on !== undefined) {
                return `port ${port} on ${host} (${on.machine.name}) is already in use, for more than ${Math.round(waitMs / 1000)} s; choose another port for ${what} (${setting})`;
            }
            const holder = describePortHolder(port);
            const by = holder !== undefined ? ` by ${holder}` : " (by no process that still listens: held by a connection or a socket closing)";
            return `port ${port} on ${host} is already in use${by}, for more than ${Math.round(waitMs / 1000)} s; choose another port for ${what} (${setting})`;
        },
    });
}

/** Linux's ephemeral port range (the ports it hands outgoing connections), or undefined where it cannot be read. */
export function ephemeralPortRange(file = "/proc/sys/net/ipv4/ip_local_port_range"): { first: number; last: number } | undefined {
    try {
        const [first, last] = fs.readFileSync(file, "utf8").trim().split(/\s+/).map(Number);
        return Number.isInteger(first) && Number.isInteger(last) && first <= last ? { first, last } : undefined;
    } catch {
        return undefined;
    }
}

/** A warning for each declared port inside the ephemeral range, by its key (`servers.prod-db.port`). */
export function ephemeralPortWarnings(ports: { key: string; port: number }[], range = ephemeralPortRange()): string[] {
    if (range === undefined) {
        return [];
    }
    return ports
        .filter(({ port }) => port >= range.first && port <= range.last)
        .map(
            ({ key, port }) =>
                `${key}: ${port} lies in this machine's ephemeral port range (${range.first}-${range.last}), where any outgoing connection ` +
                `can hold it for a moment and a server start then fails; choose a port below ${range.first}`,
        );
}
