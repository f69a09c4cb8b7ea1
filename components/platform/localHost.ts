// The local machine as a Host: programs run with argument arrays (as the servers' OS user through
// runuser or setpriv when the deployer is root), files written whole and handed to that user.
// The only place of the platform code that touches fs and child_process for a server's files.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { runBaseBackup } from "../postgres/baseBackup";
import { processAlive, processStartTime } from "../postgres/liveness";
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
import { osUserIds, programCommand, runsAsOtherUser, tiedCommand } from "./localCommands";
import { portIsFree } from "./ports";
import { collectOutput } from "./programOutput";

export { osUserIds, programCommand, runsAsOtherUser, tiedCommand };

export class LocalHost implements Host {
    constructor(private readonly place: HostPlace) {}

    run(program: string, args: readonly string[], options: ProgramOptions = {}): string {
        const [cmd, argv] = programCommand(this.place, program, args);
        const result = childProcess.spawnSync(cmd, argv, {
            cwd: options.cwd,
            encoding: "utf8",
            timeout: options.timeoutMs ?? 120_000,
            input: options.stdin,
            env: options.env === undefined ? undefined : { ...process.env, ...options.env },
        });
        if (result.error) {
            throw new Error(`${program} could not be started: ${result.error.message}`);
        }
        if (result.status !== 0) {
            const detail = `${result.stderr}${result.stdout}`.trim().split("\n").slice(-8).join("\n");
            throw Object.assign(new Error(`${program} ${args[0] ?? ""} failed (exit ${result.status}):\n${detail}`), { exitCode: result.status });
        }
        return result.stdout;
    }

    /** The environment is only PATH, LC_ALL and `options.env` (no inherited PG* variables). */
    async watch(program: string, args: readonly string[], options: WatchOptions = {}): Promise<string> {
        const env = options.env ?? {};
        const onLine = options.onLine ?? (() => undefined);
        const [cmd, argv] = tiedCommand(this.place, program, args, env);
        const child = childProcess.spawn(cmd, argv, {
            cwd: options.cwd,
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", ...env },
            stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        });
        if (options.stdin !== undefined) {
            child.stdin!.end(options.stdin);
        }
        return collectOutput(child, { program, onLine, where: "" });
    }

    baseBackup(source: BackupSource, options: BaseBackupOptions): Promise<void> {
        return runBaseBackup(this, source, options);
    }

    readText(file: string): string {
        return fs.readFileSync(file, "utf8");
    }

    readBytes(file: string): Buffer {
        return fs.readFileSync(file);
    }

    writeFile(file: string, content: string | Buffer, options: FileOptions = {}): void {
        // An exclusive write races other processes: each its own temporary name.
        const temporary = options.exclusive ? `${file}.${process.pid}.tmp` : `${file}.tmp`;
        fs.rmSync(temporary, { force: true });
        const fd = fs.openSync(temporary, "wx", options.mode ?? 0o600);
        try {
            fs.writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
            if (options.durable) {
                fs.fsyncSync(fd);
            }
        } finally {
            fs.closeSync(fd);
        }
        if (options.owned ?? true) {
            this.giveToServerUser(temporary);
        }
        if (options.exclusive) {
            // A hard link fails when the name exists: of two writers, one wins.
            try {
                fs.linkSync(temporary, file);
            } finally {
                fs.rmSync(temporary, { force: true });
            }
        } else {
            fs.renameSync(temporary, file);
        }
        if (options.durable) {
            this.syncFolder(path.dirname(file));
        }
    }

    syncFolder(dir: string): void {
        const fd = fs.openSync(dir, "r");
        try {
            fs.fsyncSync(fd);
        } finally {
            fs.closeSync(fd);
        }
    }

    appendText(file: string, text: string): void {
        fs.appendFileSync(file, text);
    }

    makeFolder(dir: string, options: FolderOptions = {}): void {
        const first = fs.mkdirSync(dir, { recursive: true, mode: options.mode ?? 0o700 });
        if (!(options.owned ?? true)) {
            return;
        }
        // Each folder it made, from `dir` up to the first; `dir` itself when it was there already.
        for (let d = path.resolve(dir); ; d = path.dirname(d)) {
            this.giveToServerUser(d);
            if (first === undefined || d === path.resolve(first) || d === path.dirname(d)) {
                break;
            }
        }
    }

    list(dir: string): string[] {
        try {
            return fs.readdirSync(dir);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                return [];
            }
            throw err;
        }
    }

    facts(target: string): EntryFacts | undefined {
        let stat: fs.Stats;
        try {
            stat = fs.lstatSync(target);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") {
                return undefined;
            }
            throw err;
        }
        return { kind: stat.isFile() ? "file" : stat.isDirectory() ? "folder" : "other", bytes: stat.size, modifiedAt: stat.mtime };
    }

    exists(target: string): boolean {
        return fs.existsSync(target);
    }

    rename(from: string, to: string): void {
        fs.renameSync(from, to);
    }

    remove(target: string): void {
        fs.rmSync(target, { recursive: true, force: true });
    }

    removeIfEmpty(dir: string): boolean {
        try {
            fs.rmdirSync(dir);
            return true;
        } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOENT") {
                return false;
            }
            throw err;
        }
    }

    folderBytes(dir: string): number {
        const out = childProcess.execFileSync("du", ["-sb", dir], { encoding: "utf8" });
        return Number(out.split(/\s/)[0]);
    }

    copyFile(from: string, to: string): void {
        fs.copyFileSync(from, to);
    }

    link(from: string, to: string): void {
        fs.linkSync(from, to);
    }

    copyTree(from: string, to: string): void {
        childProcess.execFileSync("cp", ["-a", from, to]);
    }

    serverUserCanEnter(dir: string): boolean {
        return !runsAsOtherUser(this.place) || childProcess.spawnSync("runuser", ["-u", this.place.osUser!, "--", "test", "-x", dir]).status === 0;
    }

    startDetached(command: string, args: readonly string[], options: DetachedOptions): DetachedProcess {
        const asServerUser = (options.asServerUser ?? true) && runsAsOtherUser(this.place);
        const ids = asServerUser ? osUserIds(this.place.osUser!) : undefined;
        const log = fs.openSync(options.logFile, "a", options.logMode ?? 0o600);
        if (ids !== undefined) {
            fs.chownSync(options.logFile, ids.uid, ids.gid);
        }
        // detached: its own session, so it outlives the deployment (and the engine's provider process group).
        const child = childProcess.spawn(command, [...args], { cwd: options.cwd, detached: true, stdio: ["ignore", log, log], env: options.env, ...(ids ?? {}) });
        fs.closeSync(log);
        child.on("error", () => undefined); // a program that cannot start: reported below, not as an unhandled event
        child.unref();
        if (child.pid === undefined) {
            throw new Error(`${options.what ?? command} could not be started`);
        }
        return { pid: child.pid, startTime: processStartTime(child.pid) };
    }

    startTied(program: string, args: readonly string[], options: { cwd?: string; logFile: string }): TiedProcess {
        const [cmd, argv] = tiedCommand(this.place, program, args, {});
        const log = fs.openSync(options.logFile, "a", 0o600);
        let child: childProcess.ChildProcess;
        try {
            child = childProcess.spawn(cmd, argv, { cwd: options.cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" }, stdio: ["ignore", log, log] });
        } finally {
            fs.closeSync(log);
        }
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        return { pid: child.pid ?? -1, exited, kill: (signal) => void child.kill(signal) };
    }

    commandOf(pid: number): string[] | undefined {
        try {
            return processStartTime(pid) === null ? undefined : fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        } catch {
            return undefined;
        }
    }

    environmentOf(pid: number): string[] | undefined {
        try {
            return processStartTime(pid) === null ? undefined : fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
        } catch {
            return undefined;
        }
    }

    processes(): { pid: number; argv: string[] }[] {
        const found: { pid: number; argv: string[] }[] = [];
        for (const entry of fs.readdirSync("/proc")) {
            const pid = Number(entry);
            if (!/^\d+$/.test(entry) || pid === process.pid) {
                continue;
            }
            try {
                found.push({ pid, argv: fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0") });
            } catch {
                // ended while we looked
            }
        }
        return found;
    }

    isAlive(process: DetachedProcess): boolean {
        return processAlive(process.pid, process.startTime);
    }

    signal(pid: number, signal: NodeJS.Signals, options: { group?: boolean } = {}): void {
        process.kill(options.group ? -pid : pid, signal);
    }

    portIsFree(address: string, port: number): Promise<boolean> {
        return portIsFree(address, port);
    }

    answers(address: string, port: number): boolean {
        const probe = childProcess.spawnSync(path.join(this.place.binDir, "pg_isready"), ["-h", address, "-p", String(port), "-t", "3"], { timeout: 10_000 });
        return probe.status === 0;
    }

    /** Gives `target` to the servers' OS user (when deploying as root); -1 leaves the group as it is. */
    giveToServerUser(target: string, options: { ownerOnly?: boolean } = {}): void {
        if (runsAsOtherUser(this.place)) {
            const { uid, gid } = osUserIds(this.place.osUser!);
            fs.chownSync(target, uid, options.ownerOnly ? -1 : gid);
        }
    }
}
