// What an operator meets first when a host is not ready, through the real engine: a host lacking the
// PostgreSQL programs and a host that does not answer are refused at preview, naming the host, and a
// data root the host cannot create fails `up` naming the host and the folder, with no server made.
import { Stack } from "@pulumi/pulumi/automation";
import { freePort, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { describeWithTestHosts, startTestHosts, TestHosts } from "../harness/testHosts";

jest.setTimeout(300_000);

describeWithTestHosts("hosts that are not ready", () => {
    let hosts: TestHosts;
    let workspace: ThrowawayWorkspace;
    let stack: Stack;
    let port: number;

    const declare = (overrides: Record<string, unknown>) => {
        const a = hosts.hosts[0];
        return stack.setConfig("stagewise:hosts", {
            value: JSON.stringify({ a: { address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey, dataRoot: `${a.dataFolder}/prod`, ...overrides } }),
            secret: true,
        });
    };
    const failure = (run: Promise<unknown>) => run.then(() => "succeeded", (err: Error) => err.message);

    beforeAll(async () => {
        hosts = await startTestHosts(1);
        workspace = throwawayWorkspace();
        port = await freePort();
        stack = await workspace.createStack("prod", {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port, host: "a" } }),
        });
    });
    afterAll(async () => {
        await stack?.destroy({ color: "never" }).catch(() => undefined);
        workspace?.dispose();
        await hosts?.stop();
    });

    test("a programs folder without PostgreSQL is refused at preview, naming the host and what is missing", async () => {
        const empty = `${hosts.hosts[0].dataFolder}/empty-bin`;
        hosts.ssh("a", `mkdir -p ${empty}`);
        await declare({ binDir: empty });
        expect(await failure(stack.preview({ color: "never" }))).toContain(
            `host a (${hosts.hosts[0].address}:22): hosts.a.binDir "${empty}" lacks the PostgreSQL programs initdb, pg_ctl, postgres, psql, pg_basebackup ` +
                "(install the PostgreSQL server there, e.g. apt-get install postgresql-15, or point hosts.a.binDir at the folder holding them)",
        );
    });

    test("a host that does not answer is refused at preview, naming it", async () => {
        await declare({});
        hosts.cutLink("a");
        let message: string;
        try {
            message = await failure(stack.preview({ color: "never" }));
        } finally {
            hosts.restoreLink("a");
        }
        expect(message).toMatch(new RegExp(`host a \\(${hosts.hosts[0].address.replace(/\./g, "\\.")}:22\\) is unreachable: .*(timed out|No route)`));
    });

    test("a data root the host cannot create fails up naming the host and the folder; no server is made", async () => {
        const blocker = `${hosts.hosts[0].dataFolder}/blocker`; // a file where a folder should be
        hosts.ssh("a", `touch ${blocker}`);
        await declare({ dataRoot: `${blocker}/prod` });
        const message = await failure(stack.up({ color: "never" }));
        expect(message).toContain(`host a (${hosts.hosts[0].address}:22): cannot make the folder ${blocker}/prod: mkdir: cannot create directory '${blocker}': File exists`);
        expect(hosts.ssh("a", `ss -Hltn 'sport = :${port}' | wc -l`).trim()).toBe("0");
    });
});
