// The test hosts themselves (test/harness/testHosts.ts): separate addresses on two subnets, private
// data folders, hosts reaching each other, and nothing left behind after stop().
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { startTestHosts, describeWithTestHosts, TestHosts } from "../harness/testHosts";


jest.setTimeout(60_000);

describeWithTestHosts("test hosts", () => {
    let hosts: TestHosts;

    beforeAll(async () => {
        hosts = await startTestHosts(2, 1);
    });
    afterAll(async () => {
        await hosts?.stop();
    });

    test("three hosts a, b, c: two on subnet 1, one on subnet 2, each answering ssh at its own address", () => {
        expect(hosts.hosts.map((h) => [h.name, h.subnet])).toEqual([["a", 1], ["b", 1], ["c", 2]]);
        expect(new Set(hosts.hosts.map((h) => h.address)).size).toBe(3);
        expect(hosts.clientKey).toContain("OPENSSH PRIVATE KEY");
        const known = fs.readFileSync(hosts.knownHostsFile, "utf8");
        for (const h of hosts.hosts) {
            expect(h.hostKey).toMatch(/^ssh-ed25519 \S+$/);
            expect(known).toContain(`${h.address} ${h.hostKey}`);
            const addrs = hosts.ssh(h.name, "ip -4 -o addr show");
            expect(addrs).toContain(`${h.address}/24`);
            for (const other of hosts.hosts.filter((o) => o !== h)) expect(addrs).not.toContain(`${other.address}/`);
        }
    });

    test("a file written on host a's data folder is neither on the deploying machine nor on host b", () => {
        const a = hosts.host("a");
        const file = path.posix.join(a.dataFolder, `only-on-a-${process.pid}`);
        hosts.ssh("a", `echo hello > ${file}`);
        expect(hosts.ssh("a", `cat ${file}`)).toBe("hello\n");
        expect(fs.existsSync(file)).toBe(false);
        expect(hosts.ssh("b", `test -e ${file} && echo present || echo absent`)).toBe("absent\n");
    });

    test("host b reaches host a's sshd; cutting a's link stops that until it is restored", () => {
        const probe = `timeout 3 bash -c 'exec 3<>/dev/tcp/${hosts.host("a").address}/22 && echo open' || echo closed`;
        expect(hosts.ssh("b", probe)).toBe("open\n");
        hosts.cutLink("a");
        try {
            expect(hosts.ssh("b", probe)).toBe("closed\n");
        } finally {
            hosts.restoreLink("a");
        }
        expect(hosts.ssh("b", probe)).toBe("open\n");
    });

    test("host c on subnet 2 reaches host a on subnet 1 through the subnets' router, from its own address", () => {
        const a = hosts.host("a");
        const c = hosts.host("c");
        expect(c.address.split(".").slice(0, 3)).not.toEqual(a.address.split(".").slice(0, 3));
        const probe = `timeout 3 bash -c 'exec 3<>/dev/tcp/${a.address}/22 && head -c 8 <&3' || echo closed`;
        expect(hosts.ssh("c", probe)).toBe("SSH-2.0-");
        // The connection comes from c's own address (not the router's): what a's pg_hba.conf sees.
        const seenFile = path.posix.join(a.dataFolder, `peer-${process.pid}`);
        const listener = `import socket; s = socket.socket(); s.bind(("${a.address}", 9777)); s.listen(); s.settimeout(10); c, peer = s.accept(); open("${seenFile}.tmp", "w").write(peer[0]); __import__("os").rename("${seenFile}.tmp", "${seenFile}")`;
        hosts.ssh("a", `(timeout 12 python3 -c '${listener}' >/dev/null 2>&1 &)`);
        hosts.ssh("c", `for i in $(seq 50); do timeout 1 bash -c 'exec 3<>/dev/tcp/${a.address}/9777' 2>/dev/null && break; sleep 0.1; done`);
        expect(hosts.ssh("a", `for i in $(seq 50); do [ -s ${seenFile} ] && break; sleep 0.1; done; cat ${seenFile}; rm -f ${seenFile}`)).toBe(c.address);
    });

    test("stop() removes every namespace, interface and sshd, and a second stop() is harmless", async () => {
        const namespaces = hosts.hosts.map((h) => h.namespace);
        const prefix = namespaces[0].replace(/-a$/, "");
        await hosts.stop();
        await hosts.stop();
        const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
        expect(netns).not.toContain(prefix); // the hosts' and the subnets' router's
        expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain(prefix);
        for (const h of hosts.hosts) expect(fs.existsSync(`/proc/${h.sshdPid}`)).toBe(false);
        expect(fs.existsSync(hosts.stateDir)).toBe(false);
    });
});
