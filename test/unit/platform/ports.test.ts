import * as fs from "fs";
import * as net from "net";
import { describePortHolder, freeLoopbackPort, SPARE_PORTS } from "../../../components/platform/ports";

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
