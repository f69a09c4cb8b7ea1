// withClient's default connect timeout: a server that accepts the TCP connection but never answers
// (as a host cut off mid-handshake looks) ends in an error instead of a probe that hangs.
import * as net from "net";
import { withClient } from "../../../components/postgres/pg";

jest.setTimeout(30_000);

const sockets: net.Socket[] = [];
const silent = net.createServer((socket) => void sockets.push(socket));

beforeAll(() => new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve)));
// Here, not in the test: a test that timed out would leave the connection open and jest waiting.
afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => silent.close(resolve));
});

test("a server that never answers the startup message is given up on, with pg's timeout error", async () => {
    const port = (silent.address() as net.AddressInfo).port;
    await expect(withClient({ host: "127.0.0.1", port, user: "postgres", password: "x", database: "postgres" }, async () => "answered")).rejects.toThrow("timeout expired");
});
