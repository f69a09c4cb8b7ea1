// SshHost against real sshd hosts in network namespaces (test/harness/testHosts.ts): every Host
// operation on the remote machine's own files, and the refusals an operator meets first (a changed
// host key, a key the host does not accept, a host that does not answer), each naming the host.
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findPostgresBinDir } from "../../components/platform/local";
import type { RemoteMachine } from "../../components/platform/platform";
import { fingerprintOf } from "../../components/platform/sshConnection";
import { SshHost } from "../../components/platform/sshHost";
import { startTestHosts, describeWithTestHosts, TestHosts } from "../harness/testHosts";


jest.setTimeout(120_000);

describeWithTestHosts("SshHost on a namespace host", () => {
    let hosts: TestHosts;
    let machine: RemoteMachine;
    let host: SshHost;
    const binDir = findPostgresBinDir(undefined);

    beforeAll(async () => {
        hosts = await startTestHosts(2);
        const a = hosts.hosts[0];
        machine = { name: "a", address: a.address, port: a.port, user: a.user, privateKey: hosts.clientKey, hostKey: a.hostKey };
        host = new SshHost({ binDir, osUser: "postgres", machine });
    });
    afterAll(async () => {
        await hosts?.stop();
    });

    const base = () => path.posix.join(hosts.hosts[0].dataFolder, "t");

    test("files are the remote host's own: written there, invisible on the deploying machine", () => {
        host.makeFolder(base(), { mode: 0o755, owned: false });
        host.writeFile(`${base()}/greeting`, "hello 'quoted' $HOME\n", { mode: 0o640 });
        expect(host.readText(`${base()}/greeting`)).toBe("hello 'quoted' $HOME\n");
        expect(fs.existsSync(`${base()}/greeting`)).toBe(false);
        expect(hosts.ssh("a", `stat -c '%a %U' ${base()}/greeting`).trim()).toBe("640 postgres");
        expect(hosts.ssh("b", `ls ${base()} 2>&1 || true`).trim()).toMatch(/No such file/);
        expect(host.list(base())).toEqual(["greeting"]);
        expect(host.facts(`${base()}/greeting`)).toMatchObject({ kind: "file", bytes: 21 });
        expect(host.facts(`${base()}/none`)).toBeUndefined();
        expect(() => host.readText(`${base()}/none`)).toThrow(expect.objectContaining({ code: "ENOENT" }));
    });

    test("exclusive writes and links refuse an existing name; renames, copies and removal", () => {
        host.writeFile(`${base()}/once`, "first", { exclusive: true, owned: false });
        expect(() => host.writeFile(`${base()}/once`, "second", { exclusive: true })).toThrow(expect.objectContaining({ code: "EEXIST" }));
        expect(host.readText(`${base()}/once`)).toBe("first");
        expect(() => host.link(`${base()}/once`, `${base()}/greeting`)).toThrow(expect.objectContaining({ code: "EEXIST" }));
        host.rename(`${base()}/once`, `${base()}/moved`);
        host.copyFile(`${base()}/moved`, `${base()}/copied`);
        host.appendText(`${base()}/copied`, "+more");
        expect(host.readText(`${base()}/copied`)).toBe("first+more");
        host.makeFolder(`${base()}/empty/deeper`);
        expect(host.removeIfEmpty(`${base()}/empty`)).toBe(false);
        host.remove(`${base()}/empty/deeper`);
        expect(host.removeIfEmpty(`${base()}/empty`)).toBe(true);
        expect(host.exists(`${base()}/empty`)).toBe(false);
        expect(host.list(`${base()}`).sort()).toEqual(["copied", "greeting", "moved"]);
    });

    test("PostgreSQL programs run there as the servers' OS user, a secret only on stdin", async () => {
        host.makeFolder(`${base()}/srv`);
        const pwfile = `${base()}/srv/pw`;
        host.writeFile(pwfile, "s3cret\n");
        host.run("initdb", ["-D", `${base()}/srv/pgdata`, "-U", "stagewise", "--pwfile", pwfile, "-A", "scram-sha-256"]);
        host.remove(pwfile);
        expect(host.readText(`${base()}/srv/pgdata/PG_VERSION`).trim()).toMatch(/^\d+$/);
        expect(hosts.ssh("a", `stat -c %U ${base()}/srv/pgdata`).trim()).toBe("postgres");
        const lines: string[] = [];
        const out = await host.watch("postgres", ["--version"], { onLine: (l) => lines.push(l) });
        expect(out).toMatch(/^postgres \(PostgreSQL\) \d+/);
        expect(host.run("psql", ["--version"])).toMatch(/psql \(PostgreSQL\)/);
        expect(() => host.run("pg_ctl", ["status", "-D", `${base()}/none`])).toThrow(/pg_ctl status failed on host a \(127\.77\.\d+\.\d+:22\) \(exit \d\)/);
    });

    test("a detached process outlives the connection, is seen alive, and is signalled", () => {
        const started = host.startDetached("sleep", ["300"], { logFile: `${base()}/sleep.log`, what: "the sleeper" });
        expect(host.isAlive(started)).toBe(true);
        expect(host.commandOf(started.pid)).toEqual(["sleep", "300", ""]);
        expect(host.processes().some((p) => p.pid === started.pid)).toBe(true);
        host.signal(started.pid, "SIGTERM");
        for (let i = 0; i < 50 && host.isAlive(started); i++) {
            hosts.ssh("a", "sleep 0.1");
        }
        expect(host.isAlive(started)).toBe(false);
    });

    test("ports: free until something listens there", async () => {
        const a = hosts.hosts[0].address;
        expect(await host.portIsFree(a, 15999)).toBe(true);
        expect(await host.portIsFree(a, 22)).toBe(false);
        expect(host.answers(a, 15999)).toBe(false);
    });

    test("a changed host key is refused naming the host and both fingerprints", () => {
        const wrong = hosts.hosts[1].hostKey; // host b's key, pinned for host a
        const refused = new SshHost({ binDir, machine: { ...machine, name: "a-pinned-wrong", hostKey: wrong } });
        expect(() => refused.exists("/")).toThrow(
            `host a-pinned-wrong (${machine.address}:22): its host key is not the pinned one: it presented ${fingerprintOf(hosts.hosts[0].hostKey)}, ` +
                `hosts.a-pinned-wrong.hostKey is ${fingerprintOf(wrong)} (if the host was rebuilt, check its new key out of band and set hosts.a-pinned-wrong.hostKey to it)`,
        );
    });

    test("a key the host does not accept, and a host that does not answer", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "other-key-"));
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "key")]);
        const otherKey = fs.readFileSync(path.join(dir, "key"), "utf8");
        fs.rmSync(dir, { recursive: true, force: true });
        const badKey = new SshHost({ binDir, machine: { ...machine, name: "a-bad-key", privateKey: otherKey } });
        expect(() => badKey.exists("/")).toThrow(`host a-bad-key (${machine.address}:22): authentication failed for user root (the host does not accept hosts.a-bad-key.privateKey for that user)`);
        const closed = new SshHost({ binDir, machine: { ...machine, name: "a-closed", port: 2222 } });
        expect(() => closed.exists("/")).toThrow(`host a-closed (${machine.address}:2222) is unreachable: connection refused (is sshd running there, and hosts.a-closed.port right?)`);
    });
});
