// One SSH connection per remote host, through the OpenSSH client: the host key pinned in a
// known_hosts file of our own (never the user's), the private key in a 0600 file of the deployer
// (never on a command line), and one master connection per host that every later command reuses
// (ControlMaster), so a host operation costs a round trip, not a handshake. Synchronous, like the
// Host operations it serves. Plain Node, no Pulumi.
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { RemoteMachine } from "./platform";

export type { RemoteMachine };

/**
 * A remote command that failed: its exit code and what it wrote to stderr. A plain Error with fields,
 * not a subclass: a dynamic provider's serialized copy of an Error subclass loses its message.
 */
export interface RemoteCommandError extends Error {
    readonly remoteCommand: true;
    readonly exitCode: number | null;
    readonly stderr: string;
}

export function remoteCommandError(message: string, exitCode: number | null, stderr: string): RemoteCommandError {
    return Object.assign(new Error(message), { remoteCommand: true as const, exitCode, stderr });
}

export function isRemoteCommandError(err: unknown): err is RemoteCommandError {
    return err instanceof Error && (err as Partial<RemoteCommandError>).remoteCommand === true;
}

/** Quotes one word for the remote POSIX shell. */
export function shellWord(word: string): string {
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function shellLine(words: readonly string[]): string {
    return words.map(shellWord).join(" ");
}

/** "host a (127.77.1.2:22)": how every message names a machine. */
export function describeMachine(machine: Pick<RemoteMachine, "name" | "address" | "port">): string {
    return `host ${machine.name} (${machine.address}:${machine.port})`;
}

/** The SHA256 fingerprint of a public key line, as ssh-keygen -l prints it ("SHA256:..."). */
export function fingerprintOf(publicKeyLine: string): string {
    const blob = publicKeyLine.trim().split(/\s+/)[1] ?? "";
    const digest = crypto.createHash("sha256").update(Buffer.from(blob, "base64")).digest("base64").replace(/=+$/, "");
    return `SHA256:${digest}`;
}

/** The deployer's folder for keys, pinned host keys and master sockets: its own, mode 0700. */
function sessionDir(): string {
    const dir = path.join(os.tmpdir(), `stagewise-ssh-${process.getuid?.() ?? "user"}`);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const stat = fs.lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== (process.getuid?.() ?? stat.uid) || (stat.mode & 0o077) !== 0) {
        throw new Error(`${dir} is not a private folder of this user (mode 0700): refusing to keep SSH keys there`);
    }
    return dir;
}

/**
 * The key files this process wrote, removed when it ends (kept on globalThis: providers are serialized).
 * The first call also removes those of processes that ended without their exit handler (kill -9).
 */
function keyFilesWritten(dir: string): Set<string> {
    const shared = globalThis as { stagewiseSshFiles?: Set<string> };
    if (shared.stagewiseSshFiles === undefined) {
        const files = new Set<string>();
        shared.stagewiseSshFiles = files;
        process.once("exit", () => files.forEach((file) => fs.rmSync(file, { force: true })));
        for (const name of fs.readdirSync(dir)) {
            const writer = /\.(\d+)\.(key|known_hosts)$/.exec(name)?.[1];
            if (writer !== undefined && !processExists(Number(writer))) {
                fs.rmSync(path.join(dir, name), { force: true });
            }
        }
    }
    return shared.stagewiseSshFiles;
}

function processExists(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        return (err as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Writes `text` to a 0600 file of this process, named by its hash (the same key reuses it), removed
 * when this process ends. Each process has its own: the program and its providers run at once, and
 * one's exit must not take the other's files.
 */
function privateFile(dir: string, suffix: string, text: string): string {
    const file = path.join(dir, `${crypto.createHash("sha256").update(text).digest("hex").slice(0, 20)}.${process.pid}${suffix}`);
    const written = keyFilesWritten(dir);
    if (!written.has(file)) {
        const temporary = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(temporary, text.endsWith("\n") ? text : `${text}\n`, { mode: 0o600 });
        fs.renameSync(temporary, file);
        written.add(file);
    }
    return file;
}

/** The options every ssh invocation of `machine` takes. */
function sshOptions(machine: RemoteMachine): string[] {
    const dir = sessionDir();
    const hostKey = machine.hostKey.trim().split(/\s+/).slice(0, 2).join(" ");
    const knownAs = machine.port === 22 ? machine.address : `[${machine.address}]:${machine.port}`;
    const knownHosts = privateFile(dir, ".known_hosts", `${knownAs} ${hostKey}`);
    const keyFile = privateFile(dir, ".key", machine.privateKey);
    return [
        "-i", keyFile,
        "-p", String(machine.port),
        "-l", machine.user,
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", `UserKnownHostsFile=${knownHosts}`,
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "CheckHostIP=no",
        "-o", `HostKeyAlgorithms=${hostKey.split(" ")[0]}`,
        "-o", "ConnectTimeout=10",
        "-o", "ServerAliveInterval=5",
        "-o", "ServerAliveCountMax=3",
        // One master per machine as declared: a changed key or host key never rides an open connection.
        "-o", `ControlPath=${path.join(dir, `cm-${crypto.createHash("sha256").update(JSON.stringify([machine.address, machine.port, machine.user, hostKey, machine.privateKey])).digest("hex").slice(0, 24)}`)}`,
        "-F", "/dev/null",
    ];
}

/** What went wrong reaching `machine`, in the user's terms, from ssh's own stderr (exit 255). */
function connectionProblem(machine: RemoteMachine, stderr: string): string {
    const who = describeMachine(machine);
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed|host key for .* has changed|No .* host key is known/i.test(stderr)) {
        const presented = presentedFingerprint(machine, stderr);
        return (
            `${who}: its host key is not the pinned one: it presented ${presented ?? "a key that could not be read"}, ` +
            `hosts.${machine.name}.hostKey is ${fingerprintOf(machine.hostKey)} (if the host was rebuilt, check its new key out of band and set hosts.${machine.name}.hostKey to it)`
        );
    }
    if (/Permission denied|Too many authentication failures/i.test(stderr)) {
        return `${who}: authentication failed for user ${machine.user} (the host does not accept hosts.${machine.name}.privateKey for that user)`;
    }
    if (/Connection refused/i.test(stderr)) {
        return `${who} is unreachable: connection refused (is sshd running there, and hosts.${machine.name}.port right?)`;
    }
    if (/timed out|No route to host|Network is unreachable|Could not resolve/i.test(stderr)) {
        return `${who} is unreachable: ${lastLine(stderr)}`;
    }
    return `${who}: ssh failed: ${lastLine(stderr)}`;
}

function lastLine(text: string): string {
    return text.trim().split("\n").filter((l) => !/^Warning: Permanently added/.test(l)).slice(-1)[0] ?? "(no message)";
}

/** The fingerprint the host presented: from ssh's own warning, else asked with ssh-keyscan. */
function presentedFingerprint(machine: RemoteMachine, stderr: string): string | undefined {
    const fromWarning = /(SHA256:[A-Za-z0-9+/]+)/.exec(stderr)?.[1];
    if (fromWarning !== undefined) {
        return fromWarning;
    }
    const type = machine.hostKey.trim().split(/\s+/)[0];
    const scan = childProcess.spawnSync("ssh-keyscan", ["-T", "5", "-t", type.replace(/^ssh-/, ""), "-p", String(machine.port), machine.address], { encoding: "utf8", timeout: 10_000 });
    const line = (scan.stdout ?? "").split("\n").find((l) => l.trim() !== "" && !l.startsWith("#"));
    return line === undefined ? undefined : fingerprintOf(line.split(/\s+/).slice(1).join(" "));
}

/** Starts the host's master connection unless one answers already; throws the connection problem. */
function ensureMaster(machine: RemoteMachine, options: string[]): void {
    const target = machine.address;
    // Checked at most every 20 s: a master that died since costs one direct connection (ControlMaster=no falls back).
    const checked = ((globalThis as { stagewiseSshMasters?: Map<string, number> }).stagewiseSshMasters ??= new Map());
    const key = options.join(" ");
    if (Date.now() - (checked.get(key) ?? 0) < 20_000) {
        return;
    }
    if (childProcess.spawnSync("ssh", [...options, "-O", "check", target], { stdio: "ignore", timeout: 10_000 }).status === 0) {
        checked.set(key, Date.now());
        return;
    }
    // stderr to a file, not a pipe: the backgrounded master keeps it open, and a pipe would hold us.
    const log = path.join(sessionDir(), `master-${process.pid}-${crypto.randomBytes(4).toString("hex")}.log`);
    const fd = fs.openSync(log, "w", 0o600);
    try {
        const result = childProcess.spawnSync("ssh", [...options, "-f", "-N", "-o", "ControlMaster=yes", "-o", "ControlPersist=60", target], {
            stdio: ["ignore", "ignore", fd],
            timeout: 30_000,
        });
        if (result.status !== 0) {
            throw new Error(connectionProblem(machine, fs.readFileSync(log, "utf8") + (result.error ? `\n${result.error.message}` : "")));
        }
        checked.set(key, Date.now());
    } finally {
        fs.closeSync(fd);
        fs.rmSync(log, { force: true });
    }
}

/** A host declared lost is never contacted: whatever asks it fails at once, saying so. */
function refuseLost(machine: RemoteMachine): void {
    if (machine.lost) {
        throw new Error(`${describeMachine(machine)} is declared lost (hosts.${machine.name}.lost): stagewise does not contact it; remove hosts.${machine.name}.lost once it is back`);
    }
}

export interface RemoteRun {
    stdin?: string | Buffer;
    timeoutMs?: number;
}

/**
 * Runs `command` (one line for the remote shell) on `machine` over its master connection; returns
 * stdout, throws a RemoteCommandError (remoteCommandError) with the command's exit code, or the connection problem.
 */
export function runRemote(machine: RemoteMachine, command: string, options: RemoteRun = {}): Buffer {
    refuseLost(machine);
    const sshArgs = sshOptions(machine);
    ensureMaster(machine, sshArgs);
    const result = childProcess.spawnSync("ssh", [...sshArgs, "-o", "ControlMaster=no", machine.address, "--", command], {
        input: options.stdin ?? "",
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 1 << 30,
    });
    if (result.error) {
        throw new Error(`${describeMachine(machine)}: ssh could not run: ${result.error.message}`);
    }
    const stderr = result.stderr.toString("utf8");
    if (result.status === 255) {
        throw new Error(connectionProblem(machine, stderr));
    }
    if (result.status !== 0) {
        throw remoteCommandError(`${describeMachine(machine)}: ${stderr.trim().split("\n").slice(-8).join("\n")}`, result.status, stderr);
    }
    return result.stdout;
}

/** Starts `command` on `machine` as a child ssh process (streams open), over the master connection. */
export function spawnRemote(machine: RemoteMachine, command: string, stdio: childProcess.StdioOptions): childProcess.ChildProcess {
    refuseLost(machine);
    const sshArgs = sshOptions(machine);
    ensureMaster(machine, sshArgs);
    return childProcess.spawn("ssh", [...sshArgs, "-o", "ControlMaster=no", machine.address, "--", command], { stdio });
}
