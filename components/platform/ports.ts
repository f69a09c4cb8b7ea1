// Who holds a TCP port on this machine, read from /proc (Linux), so "port in use" errors can name
// the process instead of leaving the operator to hunt for it.
import * as fs from "fs";

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

async function portIsFree(host: string, port: number): Promise<boolean> {
    const net = require("net") as typeof import("net");
    return new Promise((resolve) => {
        const probe = net.createServer();
        probe.once("error", () => resolve(false));
        probe.listen(port, host, () => probe.close(() => resolve(true)));
    });
}

/** Fails, naming the port, its holder when it can be seen, and the setting to change, when the port is taken. */
export async function assertPortFree(host: string, port: number, setting: string, what: string): Promise<void> {
    if (!(await portIsFree(host, port))) {
        const holder = describePortHolder(port);
        throw new Error(`port ${port} on ${host} is already in use${holder ? ` by ${holder}` : ""}; choose another port for ${what} (${setting})`);
    }
}
