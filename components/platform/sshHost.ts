// Another machine as a Host: every operation is one command over the host's SSH connection
// (sshConnection.ts), with its words quoted for the remote shell. Secrets and file contents travel
// on the command's stdin, never on its command line; programs run as the servers' OS user through
// setpriv (root login) or as the login user itself. Plain Node, no Pulumi.
import type { ChildProcess } from "child_process";
import * as path from "path";
import { runBaseBackup } from "../postgres/baseBackup";
import { sameProcess, startTimeOfStat } from "../postgres/liveness";
import { collectOutput } from "./programOutput";
import type {
    BackupSource,
    BaseBackupOptions,
    DetachedOptions,
    DetachedProcess,
    EntryFacts,
    FileOptions,
    FolderOptions,
    Host,
    HostPlace,
    ProgramOptions,
    TiedProcess,
    WatchOptions,
} from "./platform";
import { describeMachine, isRemoteCommandError, type RemoteMachine, runRemote, shellLine, shellWord, spawnRemote } from "./sshConnection";

/** Exit codes our remote commands use to say what a local call would throw as an errno code. */
const MISSING = 44;
const TAKEN = 45;

function errnoError(message: string, code: string): NodeJS.ErrnoException {
    return Object.assign(new Error(message), { code });
}

export class SshHost implements Host {
    readonly machine: RemoteMachine;

    constructor(private readonly place: HostPlace & { machine: RemoteMachine }) {
        this.machine = place.machine;
    }

    /** The servers' OS user there: the configured one, else the login user (postgres for a root login). */
    private get serverUser(): string {
        return this.place.osUser ?? (this.machine.user === "root" ? "postgres" : this.machine.user);
    }

    /** The words that run a command as the servers' OS user. */
    private asServerUser(): string[] {
        if (this.serverUser === this.machine.user) {
            return [];
        }
        return this.machine.user === "root"
            ? ["setpriv", `--reuid=${this.serverUser}`, `--regid=${this.serverUser}`, "--init-groups", "--"]
            : ["sudo", "-n", "-u", this.serverUser, "--"];
    }

    private sh(command: string, stdin?: string | Buffer, timeoutMs?: number): string {
        return runRemote(this.machine, command, { stdin, timeoutMs }).toString("utf8");
    }

    /** Runs `command`, mapping our exit codes to ENOENT / EEXIST errors about `target`. */
    private fileCommand(command: string, target: string, stdin?: string | Buffer): string {
        try {
            return this.sh(command, stdin);
        } catch (err) {
            if (isRemoteCommandError(err) && err.exitCode === MISSING) {
                throw errnoError(`${describeMachine(this.machine)}: ${target} does not exist`, "ENOENT");
            }
            if (isRemoteCommandError(err) && err.exitCode === TAKEN) {
                throw errnoError(`${describeMachine(this.machine)}: ${target} exists already`, "EEXIST");
            }
            throw err;
        }
    }

    private programLine(program: string, args: readonly string[], env: Record<string, string> = {}): string {
        // A clean environment, as on the local platform: no PG* variable of the login user leaks in.
        const vars = Object.entries({ PATH: "/usr/bin:/bin", LC_ALL: "C", HOME: "/", ...env }).map(([k, v]) => `${k}=${v}`);
        return shellLine([...this.asServerUser(), "env", "-i", ...vars, path.posix.join(this.place.binDir, program), ...args]);
    }

    run(program: string, args: readonly string[], options: ProgramOptions = {}): string {
        const cd = options.cwd === undefined ? "" : `cd ${shellWord(options.cwd)} && `;
        try {
            return this.sh(`${cd}${this.programLine(program, args, options.env)}`, options.stdin, options.timeoutMs);
        } catch (err) {
            if (isRemoteCommandError(err)) {
                throw Object.assign(new Error(`${program} ${args[0] ?? ""} failed on ${describeMachine(this.machine)} (exit ${err.exitCode}):\n${err.stderr.trim().split("\n").slice(-8).join("\n")}`), {
                    exitCode: err.exitCode,
                });
            }
            throw err;
        }
    }

    /**
     * The program runs under a watchdog that kills it when our ssh's stdin closes (this process
     * died): the remote side of "dies with the deployer". Its pid comes first on stdout.
     */
    private tiedLine(program: string, args: readonly string[], env: Record<string, string>, cwd: string | undefined, output: string): string {
        const cd = cwd === undefined ? "" : `cd ${shellWord(cwd)} && `;
        // fd 3: the connection's stdin (a background job's own stdin would be /dev/null).
        return `${cd}exec 3<&0; { ${this.programLine(program, args, env)} ${output} </dev/null & p=$!; echo $p; (cat <&3 >/dev/null; kill -KILL $p 2>/dev/null) >/dev/null 2>&1 & wait $p; }`;
    }

    async watch(program: string, args: readonly string[], options: WatchOptions = {}): Promise<string> {
        const onLine = options.onLine ?? (() => undefined);
        const withStdin = options.stdin !== undefined;
        const cd = options.cwd === undefined ? "" : `cd ${shellWord(options.cwd)} && `;
        // With a secret on stdin there is no watchdog: the program reads stdin itself.
        const command = withStdin ? `${cd}echo $$; exec ${this.programLine(program, args, options.env)}` : this.tiedLine(program, args, options.env ?? {}, options.cwd, "");
        const child = spawnRemote(this.machine, command, ["pipe", "pipe", "pipe"]);
        if (withStdin) {
            child.stdin!.end(options.stdin);
        }
        return collectOutput(child, { program, onLine, where: ` on ${describeMachine(this.machine)}`, skipFirstLine: true });
    }

    baseBackup(source: BackupSource, options: BaseBackupOptions): Promise<void> {
        return runBaseBackup(this, source, options);
    }

    readText(file: string): string {
        return this.readBytes(file).toString("utf8");
    }

    readBytes(file: string): Buffer {
        try {
            return runRemote(this.machine, `test -e ${shellWord(file)} || exit ${MISSING}; cat -- ${shellWord(file)}`);
        } catch (err) {
            if (isRemoteCommandError(err) && err.exitCode === MISSING) {
                throw errnoError(`${describeMachine(this.machine)}: ${file} does not exist`, "ENOENT");
            }
            throw err;
        }
    }

    writeFile(file: string, content: string | Buffer, options: FileOptions = {}): void {
        const f = shellWord(file);
        const temporary = shellWord(`${file}.${process.pid}.tmp`);
        const mode = (options.mode ?? 0o600).toString(8);
        const own = options.owned ?? true ? `chown ${shellWord(`${this.serverUser}:`)} ${temporary} && ` : "";
        const sync = options.durable ? `sync -- ${temporary} && ` : "";
        const place = options.exclusive ? `{ ln -- ${temporary} ${f} 2>/dev/null || { rm -f -- ${temporary}; exit ${TAKEN}; }; rm -f -- ${temporary}; }` : `mv -f -- ${temporary} ${f}`;
        const syncFolder = options.durable ? ` && sync -- ${shellWord(path.posix.dirname(file))}` : "";
        this.fileCommand(`umask 077 && rm -f -- ${temporary} && cat > ${temporary} && chmod ${mode} ${temporary} && ${own}${sync}${place}${syncFolder}`, file, content);
    }

    appendText(file: string, text: string): void {
        this.sh(`cat >> ${shellWord(file)}`, text);
    }

    makeFolder(dir: string, options: FolderOptions = {}): void {
        const mode = (options.mode ?? 0o700).toString(8);
        // Each folder it makes, from the first missing one down, gets the mode (and owner); an existing `dir` only the owner.
        const own = options.owned ?? true ? `chown ${shellWord(`${this.serverUser}:`)} "$d"` : "true";
        const parts = path.posix.resolve(dir).split("/").filter(Boolean);
        const chain = parts.map((_, i) => shellWord(`/${parts.slice(0, i + 1).join("/")}`)).join(" ");
        try {
            this.sh(`for d in ${chain}; do if [ ! -d "$d" ]; then mkdir -m ${mode} -- "$d" && ${own} || exit 1; fi; done; d=${shellWord(dir)}; ${own}`);
        } catch (err) {
            if (isRemoteCommandError(err)) {
                throw new Error(`${describeMachine(this.machine)}: cannot make the folder ${dir}: ${err.stderr.trim().split("\n").pop()}`);
            }
            throw err;
        }
    }

    list(dir: string): string[] {
        const out = this.sh(`[ -d ${shellWord(dir)} ] || exit 0; cd ${shellWord(dir)} && for f in * .*; do [ "$f" = . ] || [ "$f" = .. ] || [ ! -e "$f" -a ! -L "$f" ] || printf '%s\\0' "$f"; done`);
        return out.split("\0").filter(Boolean);
    }

    facts(target: string): EntryFacts | undefined {
        const out = this.sh(`[ -e ${shellWord(target)} ] || [ -L ${shellWord(target)} ] || exit 0; stat -c '%F|%s|%Y' -- ${shellWord(target)}`).trim();
        if (out === "") {
            return undefined;
        }
        const [type, bytes, seconds] = out.split("|");
        return { kind: type.includes("regular") ? "file" : type === "directory" ? "folder" : "other", bytes: Number(bytes), modifiedAt: new Date(Number(seconds) * 1000) };
    }

    exists(target: string): boolean {
        return this.sh(`[ -e ${shellWord(target)} ] && echo yes || true`).trim() === "yes";
    }

    rename(from: string, to: string): void {
        this.fileCommand(`[ -e ${shellWord(from)} ] || exit ${MISSING}; mv -T -- ${shellWord(from)} ${shellWord(to)}`, from);
    }

    remove(target: string): void {
        this.sh(`rm -rf -- ${shellWord(target)}`);
    }

    removeIfEmpty(dir: string): boolean {
        const out = this.sh(`[ -d ${shellWord(dir)} ] || { echo gone; exit 0; }; [ -z "$(ls -A -- ${shellWord(dir)})" ] || { echo full; exit 0; }; rmdir -- ${shellWord(dir)} && echo removed`);
        return out.trim() === "removed";
    }

    syncFolder(dir: string): void {
        this.sh(`sync -- ${shellWord(dir)}`);
    }

    folderBytes(dir: string): number {
        return Number(this.sh(`du -sb -- ${shellWord(dir)}`).split(/\s/)[0]);
    }

    copyFile(from: string, to: string): void {
        this.fileCommand(`[ -e ${shellWord(from)} ] || exit ${MISSING}; cp --preserve=mode -- ${shellWord(from)} ${shellWord(to)}`, from);
    }

    link(from: string, to: string): void {
        this.fileCommand(`[ ! -e ${shellWord(to)} ] || exit ${TAKEN}; ln -- ${shellWord(from)} ${shellWord(to)}`, to);
    }

    copyTree(from: string, to: string): void {
        this.sh(`cp -a -- ${shellWord(from)} ${shellWord(to)}`, undefined, 3_600_000);
    }

    giveToServerUser(target: string, options: { ownerOnly?: boolean } = {}): void {
        if (this.serverUser !== this.machine.user) {
            this.sh(`chown ${shellWord(options.ownerOnly ? this.serverUser : `${this.serverUser}:`)} -- ${shellWord(target)}`);
        }
    }

    serverUserCanEnter(dir: string): boolean {
        return this.sh(`${shellLine([...this.asServerUser(), "test", "-x", dir])} && echo yes || true`).trim() === "yes";
    }

    startDetached(command: string, args: readonly string[], options: DetachedOptions): DetachedProcess {
        const log = shellWord(options.logFile);
        const asUser = options.asServerUser ?? true;
        const own = asUser && this.serverUser !== this.machine.user ? `chown ${shellWord(`${this.serverUser}:`)} ${log} && ` : "";
        const cd = options.cwd === undefined ? "" : `cd ${shellWord(options.cwd)} && `;
        const env = Object.entries(options.env ?? {}).map(([k, v]) => `${k}=${v}`);
        const program = shellLine([...(asUser ? this.asServerUser() : []), "env", ...env, command, ...args]);
        // setsid: its own session, so it outlives this connection; the shell prints its pid and leaves.
        const out = this.sh(`umask 077 && touch ${log} && chmod ${(options.logMode ?? 0o600).toString(8)} ${log} && ${own}${cd}{ setsid ${program} >>${log} 2>&1 </dev/null & echo $!; }`);
        const pid = Number(out.trim().split("\n")[0]);
        if (!Number.isInteger(pid) || pid <= 0) {
            throw new Error(`${options.what ?? command} could not be started on ${describeMachine(this.machine)}`);
        }
        return { pid, startTime: this.startTimeOf(pid) };
    }

    startTied(program: string, args: readonly string[], options: { cwd?: string; logFile: string }): TiedProcess {
        const child: ChildProcess = spawnRemote(this.machine, this.tiedLine(program, args, {}, options.cwd, `>>${shellWord(options.logFile)} 2>&1`), ["pipe", "pipe", "ignore"]);
        let pid = -1;
        let buffered = "";
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
            buffered += chunk;
            if (pid === -1 && buffered.includes("\n")) {
                pid = Number(buffered.split("\n")[0]);
            }
        });
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        return {
            get pid() {
                return pid;
            },
            exited,
            kill: (signal) => {
                if (pid > 0) {
                    this.signal(pid, signal);
                }
                // Closing stdin is the watchdog's cue to SIGKILL: only for a kill, or a gentler signal would never get its time.
                if (signal === "SIGKILL" || pid <= 0) {
                    child.stdin?.end();
                }
            },
        };
    }

    private startTimeOf(pid: number): string | null {
        return startTimeOfStat(this.sh(`cat /proc/${pid}/stat 2>/dev/null || true`));
    }

    private procFile(pid: number, name: "cmdline" | "environ"): string[] | undefined {
        if (this.startTimeOf(pid) === null) {
            return undefined;
        }
        const out = this.sh(`base64 -w0 < /proc/${pid}/${name} 2>/dev/null || true`).trim();
        return out === "" ? undefined : Buffer.from(out, "base64").toString("utf8").split("\0");
    }

    commandOf(pid: number): string[] | undefined {
        return this.procFile(pid, "cmdline");
    }

    environmentOf(pid: number): string[] | undefined {
        return this.procFile(pid, "environ");
    }

    processes(): { pid: number; argv: string[] }[] {
        const out = this.sh(`cd /proc && for p in [0-9]*; do c=$(base64 -w0 < $p/cmdline 2>/dev/null) && [ -n "$c" ] && echo "$p $c"; done; true`);
        return out
            .split("\n")
            .filter((l) => l.includes(" "))
            .map((l) => {
                const [pid, encoded] = l.split(" ");
                return { pid: Number(pid), argv: Buffer.from(encoded, "base64").toString("utf8").split("\0") };
            });
    }

    isAlive(process: DetachedProcess): boolean {
        return sameProcess(this.startTimeOf(process.pid), process.startTime);
    }

    signal(pid: number, signal: NodeJS.Signals, options: { group?: boolean } = {}): void {
        try {
            this.sh(`kill -s ${signal.replace(/^SIG/, "")} -- ${options.group ? -pid : pid}`);
        } catch (err) {
            if (isRemoteCommandError(err)) {
                throw errnoError(`${describeMachine(this.machine)}: no process ${pid}`, "ESRCH");
            }
            throw err;
        }
    }

    async portIsFree(address: string, port: number): Promise<boolean> {
        // Something that accepts a connection there holds the port.
        return this.sh(`timeout 3 bash -c ${shellWord(`exec 3<>/dev/tcp/${address}/${port}`)} 2>/dev/null && echo taken || echo free`).trim() === "free";
    }

    answers(address: string, port: number): boolean {
        return this.sh(`${shellLine([path.posix.join(this.place.binDir, "pg_isready"), "-h", address, "-p", String(port), "-t", "3"])} >/dev/null 2>&1 && echo yes || true`).trim() === "yes";
    }
}
