import * as fs from "fs";
import * as net from "net";
import { assertPortFree, describePortHolder, ephemeralPortRange, ephemeralPortWarnings, freeLoopbackPort, SPARE_PORTS } from "../../../components/platform/ports";

test("describePortHolder names this process for a port it listens on, and nothing for a free port", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    try {
        const cmdline = fs.readFileSync(`/proc/${process.pid}/cmdline`, "utf8").split("\0").join(" ").trim();
        expect(describePortHolder(port)).toBe(`pid ${process.pid} (${cmdline})`);
    } finally {
        await new Promise((resolve) => server.close(resolve));
    }
    expect(describePortHolder(port)).toBeUndefined();
});

/** Listens on `port` (or any port) until the returned function is called. */
async function occupy(port = 0): Promise<{ port: number; release: () => Promise<void> }> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", resolve);
    });
    return { port: (server.address() as net.AddressInfo).port, release: () => new Promise((resolve) => server.close(() => resolve())) };
}

test("a spare port is below the ephemeral range; a taken one is skipped; the search wraps at the end of the range", async () => {
    const any = await freeLoopbackPort("127.0.0.1");
    expect(any).toBeGreaterThanOrEqual(SPARE_PORTS.first);
    expect(any).toBeLessThanOrEqual(SPARE_PORTS.last);

    const taken = await occupy(await freeLoopbackPort("127.0.0.1", 25000));
    try {
        const next = await freeLoopbackPort("127.0.0.1", taken.port);
        expect(next).toBeGreaterThan(taken.port);
    } finally {
        await taken.release();
    }

    const last = await occupy(SPARE_PORTS.last).catch(() => undefined); // ours now, or someone else's already
    try {
        const wrapped = await freeLoopbackPort("127.0.0.1", SPARE_PORTS.last);
        expect(wrapped).toBeGreaterThanOrEqual(SPARE_PORTS.first);
        expect(wrapped).toBeLessThan(SPARE_PORTS.last);
    } finally {
        await last?.release();
    }
});

describe("ports held for a moment, and the ephemeral range", () => {
    test("a port held for a moment is tried again, then taken", async () => {
        const held = await occupy();
        setTimeout(() => void held.release(), 600);
        const started = Date.now();
        await expect(assertPortFree("127.0.0.1", held.port, "servers.db.port", "server db", 5_000)).resolves.toBeUndefined();
        expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    });

    test("a port held longer than the wait is refused, naming its holder", async () => {
        const held = await occupy();
        const cmdline = fs.readFileSync(`/proc/${process.pid}/cmdline`, "utf8").split("\0").join(" ").trim();
        try {
            await expect(assertPortFree("127.0.0.1", held.port, "servers.db.port", "server db", 500)).rejects.toThrow(
                `port ${held.port} on 127.0.0.1 is already in use by pid ${process.pid} (${cmdline}), for more than 1 s; choose another port for server db (servers.db.port)`,
            );
        } finally {
            await held.release();
        }
    });

    test("ephemeralPortWarnings names each declared port inside the range by its key", () => {
        expect(ephemeralPortWarnings([{ key: "servers.prod-db.port", port: 55432 }, { key: "standbys.hot.port", port: 15433 }], { first: 32768, last: 60999 })).toEqual([
            "servers.prod-db.port: 55432 lies in this machine's ephemeral port range (32768-60999), where any outgoing connection " +
                "can hold it for a moment and a server start then fails; choose a port below 32768",
        ]);
        expect(ephemeralPortWarnings([{ key: "servers.a.port", port: 55432 }], { first: 60000, last: 61000 })).toEqual([]);
    });

    test("ephemeralPortRange reads the kernel's file, and nothing from a file that is not one", () => {
        const range = ephemeralPortRange();
        expect(range === undefined || (range.first > 1024 && range.last >= range.first)).toBe(true);
        expect(ephemeralPortRange("/nonexistent/ip_local_port_range")).toBeUndefined();
    });
});
