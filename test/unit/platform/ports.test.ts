import * as fs from "fs";
import * as net from "net";
import { describePortHolder } from "../../../components/platform/ports";

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
