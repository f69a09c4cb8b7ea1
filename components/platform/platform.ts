// "A place where servers run": what a platform can do (`supports`) and the operations on one of its
// hosts. Everything above this interface reaches a member's files and programs only through a `Host`,
// never through its own file system, so a host may be another machine. No Pulumi, no Node modules:
// the configuration check imports it.

export type PlatformKind = "local" | "docker";

/**
 * What a stage may ask of a platform beyond servers, each with the configuration path it is declared
 * at (the path a refusal is reported on).
 */
export const FEATURES = {
    standbys: ["standbys"],
    shipping: ["shipping"],
    copy: ["copy"],
    backups: ["backups"],
    engineUnits: ["engine", "units"],
    generatedSuperuserPassword: ["superuserPassword"],
    generatedApplicationPassword: ["applicationPassword"],
} as const;

export type Feature = keyof typeof FEATURES;

/** The answer of `supports`: yes, or no with the problem at the feature's path, worded for the user. */
export type Support = { supported: true } | { supported: false; path: readonly string[]; message: string };

/** The refusal messages, word for word as users see them. */
export const REFUSALS = {
    notYet: (kind: PlatformKind) => `is not available on the ${kind} platform yet (use platform.kind: local)`,
    unitsNotYet: (kind: PlatformKind) => `run as local processes: not available on the ${kind} platform yet (use platform.kind: local)`,
    noGeneratedPasswords: (kind: PlatformKind, key: string) =>
        `is needed on the ${kind} platform, which generates no passwords (set it with: pulumi config set --secret ${key} <value>)`,
} as const;

/** Which features each platform lacks (all others it has). */
const LACKING: Record<PlatformKind, readonly Feature[]> = {
    local: [],
    docker: ["standbys", "shipping", "copy", "backups", "engineUnits", "generatedSuperuserPassword", "generatedApplicationPassword"],
};

/** What `kind` answers for `feature` (pure: the configuration check asks it before any host exists). */
export function supportOn(kind: PlatformKind, feature: Feature): Support {
    if (!LACKING[kind].includes(feature)) {
        return { supported: true };
    }
    const path = FEATURES[feature];
    const message =
        feature === "engineUnits"
            ? REFUSALS.unitsNotYet(kind)
            : feature === "generatedSuperuserPassword" || feature === "generatedApplicationPassword"
              ? REFUSALS.noGeneratedPasswords(kind, path[0])
              : REFUSALS.notYet(kind);
    return { supported: false, path, message };
}

/** The problems (path and message) for the `wanted` features that `kind` refuses, in the order asked. */
export function refusals(kind: PlatformKind, wanted: readonly Feature[]): { path: string[]; message: string }[] {
    return wanted.flatMap((feature) => {
        const answer = supportOn(kind, feature);
        return answer.supported ? [] : [{ path: [...answer.path], message: answer.message }];
    });
}

export interface Platform {
    readonly kind: PlatformKind;
    supports(feature: Feature): Support;
    /** The host a server with this placement runs on. Throws where the platform has no host operations. */
    host(place: HostPlace): Host;
}

/** A machine reached over SSH, as the configuration's `hosts.<name>` declares it. */
export interface RemoteMachine {
    /** The name under `hosts` (every message names it). */
    readonly name: string;
    readonly address: string;
    /** @default 22 */
    readonly port: number;
    /** The SSH login user (root, or a user allowed to run programs as the servers' OS user). */
    readonly user: string;
    /** The private key (OpenSSH or PEM text): a secret. */
    readonly privateKey: string;
    /** The pinned public host key: "ssh-ed25519 AAAA..." (a comment after it is ignored). */
    readonly hostKey: string;
    /** Addresses or networks beyond its own subnets that its servers admit (pg_hba.conf). Present only when some are. */
    readonly admit?: readonly string[];
    /** Declared gone or cut off (hosts.<name>.lost): nothing connects to it. Present only when true. */
    readonly lost?: true;
}

/** Where on a platform a server's programs run. */
export interface HostPlace {
    /** The other machine it runs on, reached over SSH; absent for the deploying machine itself. */
    machine?: RemoteMachine;
    /** Folder of the PostgreSQL programs on that host. */
    binDir: string;
    /** OS user the servers run as there (when it is not the deployer's own). */
    osUser?: string;
}

export interface ProgramOptions {
    /** Working folder on the host. */
    cwd?: string;
    /** Variables added to a clean environment (PATH and LC_ALL only otherwise); never a password. */
    env?: Record<string, string>;
    /** Given to the program's standard input: the way a secret reaches it. */
    stdin?: string;
    timeoutMs?: number;
}

export interface WatchOptions extends ProgramOptions {
    /** Each non-empty line the program writes to stderr (its progress), as it comes. */
    onLine?: (line: string) => void;
}

/** A failed program: its exit code (when it exited) and the last lines it wrote. */
export interface ProgramError extends Error {
    exitCode?: number | null;
}

export interface FileOptions {
    /** Mode of a new file. @default 0o600 */
    mode?: number;
    /** Give it to the servers' OS user. @default true */
    owned?: boolean;
    /** On disk before it returns: the file and its folder synced (a journal's write). @default false */
    durable?: boolean;
    /** Fail with code EEXIST when the file is there already (another writer won). @default false */
    exclusive?: boolean;
}

export interface FolderOptions {
    /** @default 0o700 */
    mode?: number;
    /** Give it to the servers' OS user. @default true */
    owned?: boolean;
}

export interface EntryFacts {
    kind: "file" | "folder" | "other";
    bytes: number;
    modifiedAt: Date;
}

/** A process started detached from the deployer, identified for a later liveness check (a pid can be reused). */
export interface DetachedProcess {
    pid: number;
    /** The host's start time of the process (opaque), or null when it cannot be read. */
    startTime: string | null;
}

/** A PostgreSQL program running as a child of the deployer, tied to its life (it dies with it). */
export interface TiedProcess {
    pid: number;
    /** Resolves once it has exited. */
    exited: Promise<void>;
    kill(signal: NodeJS.Signals): void;
}

export interface DetachedOptions {
    cwd?: string;
    env?: Record<string, string>;
    /** File on the host that receives stdout and stderr. */
    logFile: string;
    /** Run as the servers' OS user. @default true */
    asServerUser?: boolean;
    /** Mode of a new log file. @default 0o600 */
    logMode?: number;
    /** What it is, for the error when it cannot start ("the shipper"). @default the command */
    what?: string;
}

/** The server a base backup is streamed from, by its address as the receiving host reaches it. */
export interface BackupSource {
    host: string;
    port: number;
    superuserPassword: string;
}

export interface BaseBackupOptions {
    /** Data directory to create on the receiving host. */
    dataDir: string;
    /** Folder on the receiving host for the short-lived PGPASSFILE. */
    workDir: string;
    /** Create this replication slot and stream from it afterwards (-C -S). */
    slot?: string;
    /** Write the standby's connection settings and standby.signal (-R). */
    writeRecoveryConf?: boolean;
    /** The backup's label, and checksums of its manifest (a copy's). @default pg_basebackup's own */
    label?: string;
    manifestChecksums?: "SHA256";
    /** Path of the short-lived PGPASSFILE (a name the clean-up of leftovers knows). @default <workDir>/.basebackup-pgpass */
    passfile?: string;
    onProgress?: (line: string) => void;
}

/**
 * One machine (or container) where servers run. Paths are the host's own; a program runs there as the
 * servers' OS user. Short operations are synchronous (today's providers call them from synchronous code;
 * a remote host does them through a blocking remote call), long ones return promises.
 */
export interface Host {
    /** Runs a PostgreSQL program from the host's program folder; returns its stdout, throws a ProgramError. */
    run(program: string, args: readonly string[], options?: ProgramOptions): string;
    /** Runs a PostgreSQL program without blocking, streaming its stderr lines; dies with the deployer. */
    watch(program: string, args: readonly string[], options?: WatchOptions): Promise<string>;
    /** Streams a base backup from `source` into `options.dataDir` on this host (pg_basebackup runs here). */
    baseBackup(source: BackupSource, options: BaseBackupOptions): Promise<void>;

    /** The file's text; throws an error with code ENOENT when it is missing. */
    readText(file: string): string;
    readBytes(file: string): Buffer;
    /** Writes a file whole (a temporary file, then a rename), mode 0600 and the servers' user's unless told. */
    writeFile(file: string, content: string | Buffer, options?: FileOptions): void;
    appendText(file: string, text: string): void;
    /** Creates a folder (and its parents), mode 0700 and the servers' user's unless told. */
    makeFolder(dir: string, options?: FolderOptions): void;
    /** Names in a folder; [] when it is missing. */
    list(dir: string): string[];
    /** What an entry is, or undefined when it is missing. */
    facts(target: string): EntryFacts | undefined;
    exists(target: string): boolean;
    rename(from: string, to: string): void;
    /** Removes a file or a whole folder; nothing when it is missing. */
    remove(target: string): void;
    /** Removes a folder only when it is empty; false when it is not (or is gone). Other failures throw. */
    removeIfEmpty(dir: string): boolean;
    /** Syncs a folder's entries to disk (after renames that must survive a crash). */
    syncFolder(dir: string): void;
    /** Bytes under a folder. */
    folderBytes(dir: string): number;
    /** Copies one file on this host (its mode kept, the copy the deployer's). */
    copyFile(from: string, to: string): void;
    /** Gives a file a second name; fails with code EEXIST when `to` is there (never overwrites). */
    link(from: string, to: string): void;
    /** Copies a folder whole on this host, keeping modes and owners (cp -a). */
    copyTree(from: string, to: string): void;
    /** Gives an existing file or folder to the servers' OS user (and its group, unless `ownerOnly`). */
    giveToServerUser(target: string, options?: { ownerOnly?: boolean }): void;
    /** Whether the servers' OS user can enter `dir` (every parent open to it). */
    serverUserCanEnter(dir: string): boolean;

    /** Starts a program detached (its own session), its output to `logFile`. */
    startDetached(command: string, args: readonly string[], options: DetachedOptions): DetachedProcess;
    /** Starts a PostgreSQL program as a tied child, its output appended to `logFile`. */
    startTied(program: string, args: readonly string[], options: { cwd?: string; logFile: string }): TiedProcess;
    /** The arguments of a live process (not a zombie), or undefined when it is gone. */
    commandOf(pid: number): string[] | undefined;
    /** The environment (NAME=value entries) of a live process of the deployer's user, or undefined. */
    environmentOf(pid: number): string[] | undefined;
    /** The live processes of the host (not the deployer itself), with their arguments. */
    processes(): { pid: number; argv: string[] }[];
    /** Whether the process recorded earlier is still that same process (a null start time: any live one of that pid). */
    isAlive(process: DetachedProcess): boolean;
    /** Sends `signal` to a process of this host (to its whole process group with `group`). */
    signal(pid: number, signal: NodeJS.Signals, options?: { group?: boolean }): void;

    /** Whether nothing listens on `address:port` on this host. */
    portIsFree(address: string, port: number): Promise<boolean>;
    /** Whether a PostgreSQL server accepts connections there (pg_isready: no password needed). */
    answers(address: string, port: number): boolean;
}
