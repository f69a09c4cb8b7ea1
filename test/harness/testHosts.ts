// Real "remote hosts" for tests: network namespaces on 127.77.x subnets, each with its own sshd and a
// private data folder (scripts/test-hosts.sh). Needs root; testHostsAvailable() says why not otherwise.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";

const execFile = promisify(childProcess.execFile);
const SCRIPT = path.join(__dirname, "..", "..", "scripts", "test-hosts.sh");

/** One host, as scripts/test-hosts.sh writes it in hosts.json. */
export interface TestHost {
    name: string;
    namespace: string;
    /** The root namespace's end of the host's veth: down cuts the host off its subnet. */
    link: string;
    address: string;
    port: number;
    subnet: number;
    user: string;
    /** The host's public key line, "ssh-ed25519 AAAA...", without comment. */
    hostKey: string;
    dataFolder: string;
    sshdPid: number;
}

interface HostsFile {
    clientKey: string;
    clientPublicKey: string;
    hosts: TestHost[];
}

export interface TestHosts {
    hosts: TestHost[];
    /** The private key's contents (OpenSSH format), accepted by every host's root. */
    clientKey: string;
    clientPublicKey: string;
    /** Lines "address ssh-ed25519 AAAA..." pinning every host's key. */
    knownHostsFile: string;
    stateDir: string;
    host(hostName: string): TestHost;
    /** Runs `command` on the host through ssh as root; its stdout, or throws with its stderr. */
    ssh(hostName: string, command: string): string;
    cutLink(hostName: string): void;
    restoreLink(hostName: string): void;
    /** Stops every host and removes its namespace and interfaces; runs once however often it is called. */
    stop(): Promise<void>;
}

function onPath(cmd: string): boolean {
    return (process.env.PATH ?? "").split(path.delimiter).concat(["/usr/sbin", "/sbin"])
        .some((dir) => dir !== "" && fs.existsSync(path.join(dir, cmd)));
}

/**
 * The `hosts` config entries for test hosts: each name of `names` ("a", "b", ...) declared as that test
 * host with the run's client key, its pinned key and `dataRoot`; `extra` adds fields (e.g. `lost`) per name.
 */
export function hostsConfig(hosts: TestHosts, names: string[], dataRoot: string, extra: Record<string, Record<string, unknown>> = {}): Record<string, Record<string, unknown>> {
    return Object.fromEntries(names.map((name) => {
        const h = hosts.host(name);
        return [name, { address: h.address, port: h.port, user: h.user, privateKey: hosts.clientKey, hostKey: h.hostKey, dataRoot, ...extra[name] }];
    }));
}

/** Why this machine cannot make test hosts, or undefined when it can. */
export function testHostsAvailable(): string | undefined {
    if (process.platform !== "linux") return "test hosts need Linux network namespaces";
    if (typeof process.getuid !== "function" || process.getuid() !== 0) return "test hosts need root (network namespaces and sshd)";
    for (const cmd of ["ip", "unshare", "flock"]) {
        if (!onPath(cmd)) return `test hosts need the ${cmd} command`;
    }
    if (!fs.existsSync("/usr/sbin/sshd") && !onPath("apt-get")) return "test hosts need /usr/sbin/sshd (openssh-server)";
    return undefined;
}

/** `describe` where this machine can make test hosts; elsewhere `describe.skip`, saying why once. */
export function describeWithTestHosts(name: string, body: () => void): void {
    const unavailable = testHostsAvailable();
    if (unavailable !== undefined) {
        console.warn(`${name}: skipped (${unavailable})`);
        describe.skip(name, body);
        return;
    }
    describe(name, body);
}

function downSync(stateDir: string): void {
    try {
        childProcess.execFileSync("bash", [SCRIPT, "down", stateDir], { stdio: "pipe" });
    } catch {
        // The exit fallback has nobody to tell; the normal path reports through stop().
    }
    fs.rmSync(stateDir, { recursive: true, force: true });
}

/** `count` hosts on subnet 1 (a, b, ...) and `secondSubnet` more on subnet 2, each up and accepting ssh. */
export async function startTestHosts(count: number, secondSubnet = 0): Promise<TestHosts> {
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-hosts-"));
    // Tests that forget stop() (or fail before it) must not leave namespaces and sshds behind.
    const onExit = (): void => downSync(stateDir);
    process.on("exit", onExit);
    try {
        await execFile("bash", [SCRIPT, "up", stateDir, String(count), String(secondSubnet)], { encoding: "utf8" });
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        process.removeListener("exit", onExit);
        downSync(stateDir);
        throw new Error(`test-hosts.sh up failed: ${err.stderr?.trim() || err.message}`);
    }
    const file = JSON.parse(fs.readFileSync(path.join(stateDir, "hosts.json"), "utf8")) as HostsFile;
    const knownHostsFile = path.join(stateDir, "known_hosts");

    const host = (hostName: string): TestHost => {
        const found = file.hosts.find((h) => h.name === hostName);
        if (!found) throw new Error(`no test host ${hostName} (have ${file.hosts.map((h) => h.name).join(", ")})`);
        return found;
    };
    const ip = (...args: string[]): void => {
        childProcess.execFileSync("ip", args, { stdio: "pipe" });
    };
    let stopped: Promise<void> | undefined;

    return {
        hosts: file.hosts,
        clientKey: fs.readFileSync(file.clientKey, "utf8"),
        clientPublicKey: file.clientPublicKey,
        knownHostsFile,
        stateDir,
        host,
        ssh(hostName, command) {
            const h = host(hostName);
            // -F /dev/null: the machine's own ssh settings must not change what the tests see.
            const args = ["-F", "/dev/null", "-i", file.clientKey, "-p", String(h.port),
                "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
                "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHostsFile}`, "-o", "LogLevel=ERROR",
                `${h.user}@${h.address}`, command];
            const r = childProcess.spawnSync("ssh", args, { encoding: "utf8", timeout: 60_000 });
            if (r.error) throw new Error(`ssh ${hostName}: ${r.error.message}`);
            if (r.status !== 0) throw new Error(`ssh ${hostName} \`${command}\` exited ${r.status ?? r.signal}: ${r.stderr.trim()}`);
            return r.stdout;
        },
        cutLink(hostName) {
            ip("link", "set", host(hostName).link, "down");
        },
        restoreLink(hostName) {
            ip("link", "set", host(hostName).link, "up");
        },
        stop() {
            stopped ??= (async () => {
                process.removeListener("exit", onExit);
                try {
                    await execFile("bash", [SCRIPT, "down", stateDir], { encoding: "utf8" });
                } catch (e) {
                    const err = e as { stderr?: string; message: string };
                    throw new Error(`test-hosts.sh down failed: ${err.stderr?.trim() || err.message}`);
                } finally {
                    fs.rmSync(stateDir, { recursive: true, force: true });
                }
            })();
            return stopped;
        },
    };
}
