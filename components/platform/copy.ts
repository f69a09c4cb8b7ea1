// Copies production's engine databases onto a staging server (test or development): the first
// source runbook. Plain Node (no Pulumi), so a dynamic provider can call it: plain functions only, no
// classes and no module-level mutable state.
//
// - One consistent instant for every database: a PHYSICAL copy of the whole production cluster
//   (pg_basebackup, WAL streamed, a temporary slot only). Production is only read.
// - Swapped in atomically: the copy lands in `<serverDir>/pgdata.incoming`; the swap is two renames
//   recorded in `<serverDir>/copy-journal.json`; `recoverInterruptedCopy` puts the previous databases
//   back after an interruption at any point (kill -9 included), and a new run converges.
// - Verified: pg_verifybackup of the incoming files, then row counts and a content checksum of every
//   user table, computed on the incoming snapshot before anything is changed and again on the
//   staging server after the swap.
// - The staging server keeps its own identity: superuser and owner passwords (SCRAM verifiers), its
//   configuration files (stagewise.conf, pg_hba.conf, postgresql.conf, postgresql.auto.conf,
//   pg_ident.conf) and its own rows of the identity tables.
// Passwords travel in a file of mode 0600 (PGPASSFILE) or as SCRAM verifiers; never on a command line
// or in the environment of a program.
import * as childProcess from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { Client } from "pg";
import * as cluster from "./cluster";
import type { ClusterLocation } from "./cluster";

export interface CopyRequest {
    /** Production: only read, never written. */
    source: { host: string; port: number; superuserPassword: string };
    /** The staging server (running). */
    target: ClusterLocation;
    /** The staging server's own superuser password. */
    targetSuperuserPassword: string;
    /** The staging server's user settings (as for `writeSettings`). */
    targetSettings: Record<string, string>;
    /** Role owning the engine's databases, e.g. "engine". */
    ownerRole: string;
    /** The staging server's own password for that role. */
    ownerPassword: string;
    /** Engine databases to verify, e.g. ["work", "business", "config"]. */
    databases: string[];
    /** The staging server's own rows to keep. */
    identity: { database: string; tables: { schema: string; table: string }[] };
    onProgress?: (message: string) => void;
}

export interface TableFigures {
    database: string;
    /** `Schema.Table`. */
    table: string;
    rows: number;
    /** md5 over the sorted md5 of each row's text (see `tableFigures`). */
    checksum: string;
}

export interface CopyReport {
    method: "pg_basebackup";
    /** Size of the copied data directory, in bytes. */
    bytes: number;
    startedAt: string;
    finishedAt: string;
    sourceSystemIdentifier: string;
    /** Figures of the copy (the staging server after the swap), sorted by database, table. */
    tables: TableFigures[];
    identityRowsRestored: number;
    /** It throws instead of returning false. */
    verified: true;
}

export interface RecoveryReport {
    /** none: nothing to recover; cleaned: leftovers of an unfinished copy removed, the databases were
     * never swapped; rolled back: the previous databases are back in place; completed: a committed copy's
     * leftovers removed. */
    outcome: "none" | "cleaned" | "rolled back" | "completed";
    /** What was found and done, one line each. */
    actions: string[];
}

export type CopyPhase = "copying" | "swapped" | "committed";

/** The journal of a copy, `<serverDir>/copy-journal.json`, always written whole (temporary file, rename). */
export interface CopyJournal {
    phase: CopyPhase;
    /** Whether the staging server ran when the copy began: recovery leaves it that way. */
    wasRunning: boolean;
    copyId: string;
    /** The copying process, so recovery never undoes a copy that is still running. */
    pid: number;
    pidStartTime: string | null;
    source: string;
    startedAt: string;
}

export const COPY_JOURNAL = "copy-journal.json";

/** The folders and files of a copy inside the target's server folder. */
export function copyPathsOf(loc: ClusterLocation): {
    data: string;
    incoming: string;
    previous: string;
    discarded: string;
    journal: string;
    incomingLog: string;
} {
    return {
        data: cluster.dataDirOf(loc),
        incoming: path.join(loc.serverDir, "pgdata.incoming"),
        previous: path.join(loc.serverDir, "pgdata.previous"),
        discarded: path.join(loc.serverDir, "pgdata.discarded"),
        journal: path.join(loc.serverDir, COPY_JOURNAL),
        incomingLog: path.join(loc.serverDir, "copy-incoming.log"),
    };
}

/** The staging server's configuration files, carried over into the copy in place of production's. */
const OWN_CONFIG_FILES = ["postgresql.conf", "postgresql.auto.conf", "pg_hba.conf", "pg_ident.conf"];
/** Left by a running or restoring server; never part of a copy we start. */
const RUNTIME_FILES = ["postmaster.pid", "postmaster.opts", "standby.signal", "recovery.signal"];
const PGPASS_PREFIX = ".copy-pgpass-";
const JOURNAL_TMP_PREFIX = `${COPY_JOURNAL}.`;
const FETCH_ROWS = 10_000;
/** Row alias in the figures' SQL: no real column is called that, so `alias::text` is the whole row. */
const ROW_ALIAS = '"stagewise row"';

// ---------------------------------------------------------------------------------------------------
// Recovery

/**
 * Brings the server folder back to a clean state after an interrupted copy; idempotent, and cheap when
 * there is nothing to do, so any code may call it before touching a server. A copy that did not commit
 * is undone (the previous databases are put back and the server is left running or stopped as it was
 * before the copy); a committed copy's leftovers are removed. Refuses while a copy is still running.
 */
export async function recoverInterruptedCopy(loc: ClusterLocation, onProgress?: (message: string) => void): Promise<RecoveryReport> {
    return recoverCopy(loc, undefined, onProgress ?? (() => undefined));
}

async function recoverCopy(loc: ClusterLocation, ownCopyId: string | undefined, log: (message: string) => void): Promise<RecoveryReport> {
    const p = copyPathsOf(loc);
    const actions: string[] = [];
    const act = (message: string) => {
        actions.push(message);
        log(`recovery: ${message}`);
    };
    if (!fs.existsSync(loc.serverDir)) {
        return { outcome: "none", actions };
    }
    const traces = [p.journal, p.incoming, p.previous, p.discarded].filter((f) => fs.existsSync(f));
    const strayFiles = fs
        .readdirSync(loc.serverDir)
        .filter((name) => name.startsWith(PGPASS_PREFIX) || (name.startsWith(JOURNAL_TMP_PREFIX) && name.endsWith(".tmp")));
    if (traces.length === 0 && strayFiles.length === 0) {
        return { outcome: "none", actions }; // the common case: nothing was ever interrupted here
    }
    const journal = readJournal(p.journal);
    if (journal !== undefined && journal !== "unreadable" && journal.copyId !== ownCopyId && processAlive(journal.pid, journal.pidStartTime)) {
        throw new Error(
            `a copy from ${journal.source} onto ${loc.serverDir} is still running (process ${journal.pid}, since ${journal.startedAt}); ` +
                "wait for it to finish, or stop that process and run the recovery again",
        );
    }
    const phase = journal === undefined ? undefined : journal === "unreadable" ? "copying" : journal.phase;
    if (journal === "unreadable") {
        act(`the journal ${p.journal} could not be read: treated as an unfinished copy`);
    }

    // Programs an interrupted copier left behind: a copy still streaming into pgdata.incoming (it would
    // write into a new copy's folder), or a pg_ctl still starting or stopping a server.
    await settleStrayPrograms(loc, [p.incoming, p.data, p.previous], act);

    let outcome: RecoveryReport["outcome"] = "none";
    if (fs.existsSync(p.incoming)) {
        if (stopServerOn(loc, p.incoming)) {
            act("stopped the server running on the incoming copy");
        }
        fs.rmSync(p.incoming, { recursive: true, force: true });
        act("removed the unfinished copy pgdata.incoming");
        outcome = "cleaned";
    }
    if (fs.existsSync(p.discarded)) {
        fs.rmSync(p.discarded, { recursive: true, force: true });
        act("removed pgdata.discarded");
        outcome = "cleaned";
    }
    if (fs.existsSync(p.previous)) {
        if (phase === "committed") {
            fs.rmSync(p.previous, { recursive: true, force: true });
            act("the copy had committed: removed the previous databases pgdata.previous");
            outcome = "completed";
        } else {
            if (fs.existsSync(p.data)) {
                if (stopServerOn(loc, p.data)) {
                    act("stopped the server running on the uncommitted copy");
                }
                fs.renameSync(p.data, p.discarded);
            }
            fs.renameSync(p.previous, p.data);
            fsyncDir(loc.serverDir);
            act("put the previous databases back in place (pgdata.previous -> pgdata)");
            fs.rmSync(p.discarded, { recursive: true, force: true });
            outcome = "rolled back";
        }
    } else if (journal !== undefined && outcome === "none") {
        outcome = phase === "committed" ? "completed" : "cleaned";
    }
    if (journal !== undefined && journal !== "unreadable" && cluster.clusterStatus(loc) !== "missing") {
        const running = cluster.clusterStatus(loc) === "running";
        if (journal.wasRunning && !running) {
            cluster.startCluster(loc);
            act("started the server again (it ran before the copy)");
        } else if (!journal.wasRunning && running) {
            cluster.stopCluster(loc);
            act("stopped the server (it was stopped before the copy)");
        }
    }
    for (const name of strayFiles) {
        fs.rmSync(path.join(loc.serverDir, name), { force: true });
    }
    if (journal !== undefined) {
        fs.rmSync(p.journal, { force: true });
        fsyncDir(loc.serverDir);
        act("removed the copy journal");
    }
    return { outcome, actions };
}

function readJournal(file: string): CopyJournal | "unreadable" | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") {
            return undefined;
        }
        return "unreadable";
    }
    try {
        const journal = JSON.parse(text) as CopyJournal;
        return ["copying", "swapped", "committed"].includes(journal.phase) ? journal : "unreadable";
    } catch {
        return "unreadable";
    }
}

/** Writes the journal whole. `exclusive`: fails when a journal exists (another copy began meanwhile). */
function writeJournal(loc: ClusterLocation, journal: CopyJournal, exclusive: boolean): void {
    const file = copyPathsOf(loc).journal;
    const tmp = `${file}.${journal.copyId}.tmp`;
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
        fs.writeSync(fd, JSON.stringify(journal, null, 2) + "\n");
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    cluster.chownToServerUser(loc, tmp);
    if (exclusive) {
        try {
            fs.linkSync(tmp, file);
        } catch (err) {
            fs.rmSync(tmp, { force: true });
            if ((err as NodeJS.ErrnoException).code === "EEXIST") {
                throw new Error(`another copy onto ${loc.serverDir} began at the same time (${file} exists)`);
            }
            throw err;
        }
        fs.rmSync(tmp, { force: true });
    } else {
        fs.renameSync(tmp, file);
    }
    fsyncDir(loc.serverDir);
}

function fsyncDir(dir: string): void {
    const fd = fs.openSync(dir, "r");
    try {
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
}

/** Start time of a process (clock ticks since boot, from /proc), or null when it is gone or unknown. */
function processStartTime(pid: number): string | null {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // fields[0] is field 3 (state); the start time is field 22. A zombie has ended.
        return fields[0] === "Z" ? null : (fields[19] ?? null);
    } catch {
        return null;
    }
}

function processAlive(pid: number, startTime: string | null): boolean {
    const now = processStartTime(pid);
    return now !== null && (startTime === null || now === startTime);
}

/**
 * Waits for pg_ctl processes working on `dirs` to end, and kills (SIGKILL, by PID) pg_basebackup and
 * pg_verifybackup processes working on them: only a dead copier can have left those.
 */
async function settleStrayPrograms(loc: ClusterLocation, dirs: string[], act: (message: string) => void): Promise<void> {
    const strays = () => programsWorkingOn(dirs);
    const found = strays();
    for (const stray of found) {
        if (stray.program === "pg_ctl") {
            act(`waiting for ${stray.program} (process ${stray.pid}) to finish`);
        } else {
            act(`stopping ${stray.program} (process ${stray.pid}) left by an interrupted copy`);
            try {
                process.kill(stray.pid, "SIGKILL");
            } catch {
                // already gone
            }
        }
    }
    const deadline = Date.now() + 150_000;
    while (found.length > 0 && strays().length > 0) {
        if (Date.now() > deadline) {
            const left = strays().map((s) => `${s.program} (process ${s.pid})`);
            throw new Error(`programs of an interrupted copy onto ${loc.serverDir} did not end: ${left.join(", ")}`);
        }
        await sleep(100);
    }
}

function programsWorkingOn(dirs: string[]): { pid: number; program: string }[] {
    const programs = ["pg_basebackup", "pg_verifybackup", "pg_ctl"];
    const found: { pid: number; program: string }[] = [];
    for (const entry of fs.readdirSync("/proc")) {
        const pid = Number(entry);
        if (!/^\d+$/.test(entry) || pid === process.pid) {
            continue;
        }
        let argv: string[];
        try {
            argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        } catch {
            continue; // ended while we looked
        }
        const program = path.basename(argv[0] ?? "");
        if (programs.includes(program) && argv.some((a) => dirs.includes(a)) && processStartTime(pid) !== null) {
            found.push({ pid, program });
        }
    }
    return found;
}

function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether a server runs on data directory `dir`. */
function serverRunsOn(loc: ClusterLocation, dir: string): boolean {
    if (!fs.existsSync(path.join(dir, "postmaster.pid"))) {
        return false;
    }
    try {
        cluster.runProgram(loc, "pg_ctl", ["status", "--pgdata", dir]);
        return true;
    } catch (err) {
        const code = (err as { exitCode?: number }).exitCode;
        if (code === 3 || code === 4) {
            return false;
        }
        throw err;
    }
}

/** Stops the server running on data directory `dir`, if any (fast, else immediate); true when one ran. */
function stopServerOn(loc: ClusterLocation, dir: string): boolean {
    if (!serverRunsOn(loc, dir)) {
        return false;
    }
    try {
        cluster.runProgram(loc, "pg_ctl", ["stop", "--pgdata", dir, "--mode", "fast", "--wait", "--timeout", "120", "--silent"]);
    } catch {
        cluster.runProgram(loc, "pg_ctl", ["stop", "--pgdata", dir, "--mode", "immediate", "--wait", "--timeout", "60", "--silent"]);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------------
// The copy

/**
 * Copies every database of `req.source` (production) onto `req.target` (a staging server) as of one
 * instant, verifies it, and gives the staging server back its own identity. Throws on any failure,
 * after putting the staging server's previous databases back in place.
 */
export async function copyDatabases(req: CopyRequest): Promise<CopyReport> {
    const loc = req.target;
    const p = copyPathsOf(loc);
    const startedAt = new Date().toISOString();
    const source = `${req.source.host}:${req.source.port}`;
    const progress = (message: string) => {
        try {
            req.onProgress?.(message);
        } catch {
            // a failing progress callback must not break the copy
        }
    };

    await recoverCopy(loc, undefined, progress);
    if (sameServer(req.source, loc)) {
        throw new Error(
            `refusing to copy ${source} onto itself: the source (production) and the target (staging server in ${loc.serverDir}) ` +
                "are the same server; the target must be another server",
        );
    }
    for (const [what, secret] of [
        ["source superuser password", req.source.superuserPassword],
        ["target superuser password", req.targetSuperuserPassword],
        ["owner password", req.ownerPassword],
    ] as const) {
        if (secret === "" || /[\r\n\0]/.test(secret)) {
            throw new Error(`the ${what} must be non-empty and on one line`);
        }
    }
    const status = cluster.clusterStatus(loc);
    if (status === "missing") {
        throw new Error(`there is no server in ${p.data} to copy onto; create the staging server first`);
    }
    const wasRunning = status === "running";
    const copyId = crypto.randomBytes(8).toString("hex");
    const journal: CopyJournal = {
        phase: "copying",
        wasRunning,
        copyId,
        pid: process.pid,
        pidStartTime: processStartTime(process.pid),
        source,
        startedAt,
    };
    writeJournal(loc, journal, true);
    const pgpass = path.join(loc.serverDir, `${PGPASS_PREFIX}${copyId}`);
    try {
        if (!wasRunning) {
            progress("starting the staging server to read its identity rows");
            cluster.startCluster(loc);
        }
        // 1. The staging server's own identity rows (and their figures, to check they come back exactly).
        const saved = await saveIdentityRows(loc, req.targetSuperuserPassword, req.identity);
        const identityKeys = new Set(req.identity.tables.map((t) => figureKey(req.identity.database, `${t.schema}.${t.table}`)));
        const isIdentity = (database: string, table: string) => identityKeys.has(figureKey(database, table));
        const identityBefore = await figuresOf(loc, req.targetSuperuserPassword, [req.identity.database], isIdentity);
        progress(
            `saved ${saved.reduce((n, t) => n + t.count, 0)} identity rows of the staging server ` +
                `(${saved.map((t) => `${req.identity.database}.${t.schema}.${t.table}: ${t.count}`).join(", ")})`,
        );

        // 2. The physical copy, as the staging server's OS user, the password in a PGPASSFILE of mode 0600.
        writePgpass(loc, pgpass, req.source);
        progress(`copying ${source} with pg_basebackup into ${p.incoming}`);
        const copyStart = Date.now();
        let lastCopied: string | undefined; // pg_basebackup repeats its final line
        await runWatched(
            loc,
            "pg_basebackup",
            [
                "--pgdata", p.incoming,
                "--host", req.source.host,
                "--port", String(req.source.port),
                "--username", cluster.SUPERUSER,
                "--no-password",
                "--format=plain",
                "--wal-method=stream",
                "--checkpoint=fast",
                "--manifest-checksums=SHA256",
                "--label=stagewise copy",
                "--progress",
            ],
            { PGPASSFILE: pgpass },
            (line) => {
                const m = /(\d+)\/(\d+) kB \((\d+)%\)/.exec(line);
                const message = m ? `copied ${m[1]} of ${m[2]} kB (${m[3]}%)` : undefined;
                if (message !== undefined && message !== lastCopied) {
                    progress(message);
                    lastCopied = message;
                }
            },
        );
        fs.rmSync(pgpass, { force: true });
        const bytes = directorySize(p.incoming);
        progress(`copied ${bytes} bytes in ${((Date.now() - copyStart) / 1000).toFixed(1)} s`);

        // 3. The files are exactly what production sent.
        progress("verifying the copy with pg_verifybackup");
        const verified = await runWatched(loc, "pg_verifybackup", [p.incoming], {});
        progress(`pg_verifybackup: ${verified.trim().split("\n").pop() ?? ""}`);

        // 4. The staging server's own configuration in the copy; a temporary port for the snapshot figures.
        for (const name of OWN_CONFIG_FILES) {
            const own = path.join(p.data, name);
            const copied = path.join(p.incoming, name);
            if (fs.existsSync(own)) {
                writeOwned(loc, copied, fs.readFileSync(own));
            } else {
                fs.rmSync(copied, { force: true });
            }
        }
        removeRuntimeFiles(p.incoming);
        const tempPort = await freeLoopbackPort(loc.host);
        writeOwned(loc, path.join(p.incoming, "stagewise.conf"), settingsText(loc, req.targetSettings, tempPort));
        progress(`computing the figures of the copy on a temporary server (port ${tempPort})`);
        fs.rmSync(p.incomingLog, { force: true });
        let snapshot: TableFigures[];
        let sourceSystemIdentifier: string;
        try {
            cluster.runProgram(loc, "pg_ctl", ["start", "--pgdata", p.incoming, "--log", p.incomingLog, "--wait", "--timeout", "120", "--silent"]);
            const temp: ClusterLocation = { ...loc, port: tempPort };
            sourceSystemIdentifier = await systemIdentifier(temp, req.source.superuserPassword);
            snapshot = await figuresOf(temp, req.source.superuserPassword, req.databases, () => true);
        } catch (err) {
            throw new Error(`the temporary server on the copy failed: ${(err as Error).message}\n${tail(p.incomingLog, 10)}`);
        } finally {
            stopServerOn(loc, p.incoming);
        }
        removeRuntimeFiles(p.incoming);
        writeOwned(loc, path.join(p.incoming, "stagewise.conf"), settingsText(loc, req.targetSettings, loc.port));
        progress(`figures of the copy: ${snapshot.length} tables in ${req.databases.join(", ")}`);

        // 5. The swap: two renames, journaled.
        progress("stopping the staging server and swapping in the copy");
        cluster.stopCluster(loc);
        fs.renameSync(p.data, p.previous);
        fs.renameSync(p.incoming, p.data);
        fsyncDir(loc.serverDir);
        writeJournal(loc, { ...journal, phase: "swapped" }, false);
        cluster.writeSettings(loc, req.targetSettings);
        cluster.startCluster(loc);
        progress(`started the staging server on the copy (port ${loc.port})`);

        // 6. The staging server's own passwords (the copy carries production's) and identity rows.
        await resetPasswords(loc, req);
        progress(`reset the passwords of ${cluster.SUPERUSER} and ${req.ownerRole} to the staging server's own`);
        const identityRowsRestored = await restoreIdentityRows(loc, req.targetSuperuserPassword, req.identity.database, saved);
        progress(`restored ${identityRowsRestored} identity rows of the staging server`);

        // 7. The figures again, on the staging server.
        const after = await figuresOf(loc, req.targetSuperuserPassword, req.databases, () => true);
        const identityAfter = req.databases.includes(req.identity.database)
            ? after.filter((f) => isIdentity(f.database, f.table))
            : await figuresOf(loc, req.targetSuperuserPassword, [req.identity.database], isIdentity);
        const copied = snapshot.filter((f) => !isIdentity(f.database, f.table));
        const problems = [
            ...compareFigures(copied, after.filter((f) => !isIdentity(f.database, f.table)), "copy", "staging server"),
            ...compareFigures(identityBefore, identityAfter, "staging server before the copy", "staging server after"),
        ];
        if (problems.length > 0) {
            throw new Error(`the copy does not match: ${problems.slice(0, 10).join("; ")}${problems.length > 10 ? `; and ${problems.length - 10} more` : ""}`);
        }
        progress(`verified: ${copied.length} tables equal to the copy, ${identityAfter.length} identity tables as before the copy`);

        // 8. Commit.
        writeJournal(loc, { ...journal, phase: "committed" }, false);
        fs.rmSync(p.previous, { recursive: true, force: true });
        if (!wasRunning) {
            cluster.stopCluster(loc);
        }
        fs.rmSync(p.incomingLog, { force: true });
        fs.rmSync(p.journal, { force: true });
        fsyncDir(loc.serverDir);
        progress("copy committed");
        return {
            method: "pg_basebackup",
            bytes,
            startedAt,
            finishedAt: new Date().toISOString(),
            sourceSystemIdentifier,
            tables: after,
            identityRowsRestored,
            verified: true,
        };
    } catch (err) {
        const message = `copy from ${source} onto ${loc.serverDir} failed: ${(err as Error).message}`;
        progress(`${message.split("\n")[0]}; putting the previous databases back`);
        try {
            await recoverCopy(loc, copyId, progress);
        } catch (rollbackErr) {
            throw new Error(`${message}\nand putting the previous databases back failed too: ${(rollbackErr as Error).message}`);
        }
        throw new Error(`${message}\n(the staging server's previous databases are in place)`);
    } finally {
        fs.rmSync(pgpass, { force: true });
    }
}

/** Same host (loopback names counted as one) and port. */
function sameServer(source: { host: string; port: number }, target: ClusterLocation): boolean {
    const norm = (host: string) => {
        const h = host.toLowerCase().replace(/^\[|\]$/g, "");
        return h === "localhost" || h === "::1" || h.startsWith("127.") ? "loopback" : h;
    };
    return source.port === target.port && norm(source.host) === norm(target.host);
}

function figureKey(database: string, table: string): string {
    return JSON.stringify([database, table]);
}

/** A file of the server's, written whole (temporary file, then rename) and given to its OS user. */
function writeOwned(loc: ClusterLocation, file: string, content: string | Buffer): void {
    fs.writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
    cluster.chownToServerUser(loc, `${file}.tmp`);
    fs.renameSync(`${file}.tmp`, file);
}

function removeRuntimeFiles(dataDir: string): void {
    for (const name of RUNTIME_FILES) {
        fs.rmSync(path.join(dataDir, name), { force: true });
    }
}

/** `stagewise.conf` as `cluster.writeSettings` writes it, for a data directory other than pgdata and a given port. */
function settingsText(loc: ClusterLocation, settings: Record<string, string>, port: number): string {
    const quote = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
    const all = { ...cluster.baseSettings(loc), ...settings, port: String(port) };
    const lines = Object.entries(all).map(([name, value]) => `${name} = ${quote(value)}`);
    return ["# Managed by stagewise; edits are overwritten.", ...lines, ""].join("\n");
}

/** A PGPASSFILE (mode 0600, owned by the server's OS user) for the source's superuser. */
function writePgpass(loc: ClusterLocation, file: string, source: CopyRequest["source"]): void {
    const field = (value: string) => value.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
    fs.rmSync(file, { force: true });
    const fd = fs.openSync(file, "wx", 0o600);
    try {
        fs.writeSync(fd, `${field(source.host)}:${source.port}:*:${field(cluster.SUPERUSER)}:${field(source.superuserPassword)}\n`);
    } finally {
        fs.closeSync(fd);
    }
    cluster.chownToServerUser(loc, file);
}

function asServerUser(loc: ClusterLocation): boolean {
    return loc.osUser !== undefined && os.userInfo().username !== loc.osUser;
}

function findSetpriv(): string | undefined {
    return ["/usr/bin/setpriv", "/bin/setpriv"].find((f) => fs.existsSync(f));
}

/**
 * Runs a PostgreSQL program (as the server's OS user when needed) without blocking, passing each
 * stderr line to `onLine`; resolves with its stdout. The environment is only PATH, LC_ALL and `env`
 * (no inherited PG* variables). Through `setpriv --pdeathsig KILL` the program dies with this process,
 * so a killed copier leaves no pg_basebackup writing behind it.
 */
function runWatched(
    loc: ClusterLocation,
    program: string,
    args: string[],
    env: Record<string, string>,
    onLine: (line: string) => void = () => undefined,
): Promise<string> {
    const file = path.join(loc.binDir, program);
    const setpriv = findSetpriv();
    let cmd: string;
    let argv: string[];
    if (asServerUser(loc)) {
        if (setpriv !== undefined) {
            const id = (flag: string) => childProcess.execFileSync("id", [flag, loc.osUser!], { encoding: "utf8" }).trim();
            cmd = setpriv;
            argv = ["--reuid", id("-u"), "--regid", id("-g"), "--init-groups", "--pdeathsig", "KILL", "--", file, ...args];
        } else {
            cmd = "runuser";
            argv = ["-u", loc.osUser!, "--", "env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), file, ...args];
        }
    } else if (setpriv !== undefined) {
        cmd = setpriv;
        argv = ["--pdeathsig", "KILL", "--", file, ...args];
    } else {
        [cmd, argv] = [file, args];
    }
    return new Promise((resolve, reject) => {
        const child = childProcess.spawn(cmd, argv, {
            cwd: loc.serverDir,
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C", ...env },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        let partial = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
        });
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
            stderr = (stderr + chunk).slice(-65_536);
            const lines = (partial + chunk).split(/[\r\n]/);
            partial = lines.pop() ?? "";
            lines.filter((l) => l.trim() !== "").forEach(onLine);
        });
        child.on("error", (err) => reject(new Error(`${program} could not be started: ${err.message}`)));
        child.on("close", (code, signal) => {
            if (partial.trim() !== "") {
                onLine(partial);
            }
            if (code === 0) {
                resolve(stdout);
                return;
            }
            const detail = `${stderr}${stdout}`.trim().split("\n").filter((l) => !/^\s*\d+\/\d+ kB/.test(l)).slice(-8).join("\n");
            reject(new Error(`${program} failed (${signal ? `signal ${signal}` : `exit ${code}`}):\n${detail}`));
        });
    });
}

function directorySize(dir: string): number {
    let total = 0;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) {
            total += directorySize(full);
        } else {
            total += fs.lstatSync(full).size;
        }
    }
    return total;
}

/** A free TCP port on `host`, chosen by the kernel. */
function freeLoopbackPort(host: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, host, () => {
            const { port } = server.address() as net.AddressInfo;
            server.close(() => resolve(port));
        });
    });
}

function tail(file: string, lines: number): string {
    try {
        return `last lines of ${file}:\n${fs.readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n")}`;
    } catch {
        return "";
    }
}

async function systemIdentifier(loc: ClusterLocation, password: string): Promise<string> {
    const client = await cluster.connect(loc, password);
    try {
        return (await client.query("SELECT system_identifier::text AS id FROM pg_control_system()")).rows[0].id as string;
    } finally {
        await client.end();
    }
}

// ---------------------------------------------------------------------------------------------------
// Passwords and identity rows

async function resetPasswords(loc: ClusterLocation, req: CopyRequest): Promise<void> {
    let admin: Client;
    try {
        admin = await cluster.connect(loc, req.source.superuserPassword);
    } catch (err) {
        throw new Error(`connecting to the copy with production's superuser password failed: ${(err as Error).message}`);
    }
    try {
        const owner = await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [req.ownerRole]);
        if (!owner.rowCount) {
            throw new Error(`the copy has no role ${req.ownerRole}`);
        }
        await admin.query("BEGIN");
        await admin.query(`ALTER ROLE ${cluster.SUPERUSER} PASSWORD ${admin.escapeLiteral(cluster.scramVerifier(req.targetSuperuserPassword))}`);
        await admin.query(`ALTER ROLE ${admin.escapeIdentifier(req.ownerRole)} PASSWORD ${admin.escapeLiteral(cluster.scramVerifier(req.ownerPassword))}`);
        await admin.query("COMMIT");
    } finally {
        await admin.end();
    }
}

interface SavedRows {
    schema: string;
    table: string;
    /** The rows as a JSON array of objects (json_agg). */
    json: string;
    count: number;
}

async function saveIdentityRows(loc: ClusterLocation, password: string, identity: CopyRequest["identity"]): Promise<SavedRows[]> {
    const client = await cluster.connect(loc, password, identity.database);
    try {
        await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        const saved: SavedRows[] = [];
        for (const t of identity.tables) {
            const name = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.table)}`;
            try {
                const { rows } = await client.query(
                    `SELECT coalesce(json_agg(${ROW_ALIAS}), '[]'::json)::text AS json, count(*)::int AS count FROM ${name} ${ROW_ALIAS}`,
                );
                saved.push({ schema: t.schema, table: t.table, json: rows[0].json, count: rows[0].count });
            } catch (err) {
                throw new Error(`reading the identity table ${name} in database ${identity.database} of the staging server failed: ${(err as Error).message}`);
            }
        }
        await client.query("COMMIT");
        return saved;
    } finally {
        await client.end();
    }
}

/** Replaces the rows of the identity tables with the saved ones, in one transaction; returns the rows inserted. */
async function restoreIdentityRows(loc: ClusterLocation, password: string, database: string, saved: SavedRows[]): Promise<number> {
    const client = await cluster.connect(loc, password, database);
    try {
        await client.query("BEGIN");
        for (const t of [...saved].reverse()) {
            await client.query(`DELETE FROM ${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.table)}`);
        }
        let inserted = 0;
        for (const t of saved) {
            const name = `${client.escapeIdentifier(t.schema)}.${client.escapeIdentifier(t.table)}`;
            const { rows } = await client.query(
                "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
                [name],
            );
            const columns = rows.map((r) => client.escapeIdentifier(r.attname as string)).join(", ");
            const result = await client.query(
                `INSERT INTO ${name} (${columns}) OVERRIDING SYSTEM VALUE SELECT ${columns} FROM json_populate_recordset(NULL::${name}, $1::json)`,
                [t.json],
            );
            inserted += result.rowCount ?? 0;
        }
        await client.query("COMMIT");
        return inserted;
    } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw new Error(`restoring the staging server's identity rows in database ${database} failed: ${(err as Error).message}`);
    } finally {
        await client.end();
    }
}

// ---------------------------------------------------------------------------------------------------
// Figures

const USER_TABLES_SQL = `
SELECT n.nspname AS schema, c.relname AS table
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'
ORDER BY 1, 2`;

/**
 * Row count and content checksum of every user table of `databases`, each database read in one
 * snapshot, sorted by database, table. The checksum is the md5 of the rows' md5s (of `row::text`),
 * sorted, each followed by a newline; in SQL:
 * `md5(coalesce(string_agg(md5(t::text) || E'\n', '' ORDER BY md5(t::text) COLLATE "C"), ''))`.
 * The row hashes are streamed through a cursor, so tables of any size fit in memory.
 */
export async function tableFigures(loc: ClusterLocation, superuserPassword: string, databases: string[]): Promise<TableFigures[]> {
    return figuresOf(loc, superuserPassword, databases, () => true);
}

async function figuresOf(
    loc: ClusterLocation,
    password: string,
    databases: string[],
    include: (database: string, table: string) => boolean,
): Promise<TableFigures[]> {
    const figures: TableFigures[] = [];
    for (const database of databases) {
        const client = await cluster.connect(loc, password, database);
        try {
            await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
            const { rows } = await client.query(USER_TABLES_SQL);
            for (const r of rows) {
                const table = `${r.schema}.${r.table}`;
                if (include(database, table)) {
                    figures.push({ database, table, ...(await tableChecksum(client, r.schema, r.table)) });
                }
            }
            await client.query("COMMIT");
        } finally {
            await client.end();
        }
    }
    return figures.sort((a, b) => (a.database !== b.database ? (a.database < b.database ? -1 : 1) : a.table < b.table ? -1 : a.table > b.table ? 1 : 0));
}

async function tableChecksum(client: Client, schema: string, table: string): Promise<{ rows: number; checksum: string }> {
    const name = `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(table)}`;
    await client.query(`DECLARE stagewise_figures NO SCROLL CURSOR FOR SELECT md5(${ROW_ALIAS}::text) COLLATE "C" FROM ${name} ${ROW_ALIAS} ORDER BY 1`);
    const hash = crypto.createHash("md5");
    let rows = 0;
    for (;;) {
        const batch = await client.query({ text: `FETCH ${FETCH_ROWS} FROM stagewise_figures`, rowMode: "array" });
        for (const row of batch.rows as string[][]) {
            hash.update(`${row[0]}\n`);
        }
        rows += batch.rows.length;
        if (batch.rows.length < FETCH_ROWS) {
            break;
        }
    }
    await client.query("CLOSE stagewise_figures");
    return { rows, checksum: hash.digest("hex") };
}

/** Differences between two sets of figures, one line each. */
function compareFigures(expected: TableFigures[], actual: TableFigures[], expectedName: string, actualName: string): string[] {
    const problems: string[] = [];
    const byKey = new Map(actual.map((f) => [figureKey(f.database, f.table), f]));
    for (const e of expected) {
        const key = figureKey(e.database, e.table);
        const a = byKey.get(key);
        byKey.delete(key);
        if (a === undefined) {
            problems.push(`${e.database}.${e.table} is on the ${expectedName} but not on the ${actualName}`);
        } else if (a.rows !== e.rows || a.checksum !== e.checksum) {
            problems.push(`${e.database}.${e.table}: ${e.rows} rows (${e.checksum}) on the ${expectedName}, ${a.rows} rows (${a.checksum}) on the ${actualName}`);
        }
    }
    for (const a of byKey.values()) {
        problems.push(`${a.database}.${a.table} is on the ${actualName} but not on the ${expectedName}`);
    }
    return problems;
}
