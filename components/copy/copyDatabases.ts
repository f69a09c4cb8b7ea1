// copyDatabases: the copy as its phases, one named function each: beginCopy (recovery of any earlier
// interrupted copy, refusals, the journal), saveStagingIdentity, baseBackup (pg_basebackup into
// pgdata.incoming), verifyFiles (pg_verifybackup), configureIncoming, verifyOnTemporaryServer (the
// snapshot's figures, the staging server's passwords and identity rows put back, the figures again),
// swapIn (the journaled renames; the second is the commit point) and commit. Any failure rolls back
// through recovery.ts.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as crypto from "crypto";
import * as os from "os";
import * as path from "path";
import * as cluster from "../postgres/cluster";
import type { ClusterLocation } from "../postgres/cluster";
import { freeLoopbackPort } from "../platform/ports";
import { compareFigures, figureKey, figuresOf } from "./figures";
import { resetPasswords, restoreIdentityRows, saveIdentityRows } from "./identity";
import type { SavedRows } from "./identity";
import {
    directorySize,
    removeRuntimeFiles,
    settingsText,
    systemIdentifier,
    tail,
    OWN_CONFIG_FILES,
} from "./incoming";
import { copyPathsOf, COPY_COMPLETE_MARK, writeJournal } from "./journal";
import type { CopyJournal } from "./journal";
import { processStartTime } from "../postgres/liveness";
import { runWatched, PGPASS_PREFIX } from "./programs";
import { recoverCopy } from "./copyRecovery";
import { startTemporaryServer } from "./temporaryServer";
import type { TemporaryServer } from "./temporaryServer";
import type { CopyReport, CopyRequest, TableFigures } from "./copyTypes";

/** What every phase of one copy knows. */
interface CopyContext {
    req: CopyRequest;
    loc: ClusterLocation;
    p: ReturnType<typeof copyPathsOf>;
    journal: CopyJournal;
    /** `host:port` of production. */
    source: string;
    pgpass: string;
    progress: (message: string) => void;
}

/** The staging server's own identity rows, saved before the copy, and their figures. */
interface StagingIdentity {
    saved: SavedRows;
    before: TableFigures[];
    isIdentity: (database: string, table: string) => boolean;
}

/**
 * Copies every database of `req.source` (production) onto `req.target` (a staging server) as of one
 * instant, verifies it, and gives the staging server back its own identity. Throws on any failure,
 * after putting the staging server's previous databases back in place.
 */
export async function copyDatabases(req: CopyRequest): Promise<CopyReport> {
    const ctx = await beginCopy(req);
    try {
        const identity = await saveStagingIdentity(ctx);
        const bytes = await baseBackup(ctx);
        await verifyFiles(ctx);
        const tempPort = await configureIncoming(ctx);
        const verified = await verifyOnTemporaryServer(ctx, identity, tempPort);
        await swapIn(ctx);
        commit(ctx);
        return {
            method: "pg_basebackup",
            bytes,
            startedAt: ctx.journal.startedAt,
            finishedAt: new Date().toISOString(),
            sourceSystemIdentifier: verified.sourceSystemIdentifier,
            tables: verified.after,
            identityRowsRestored: verified.identityRowsRestored,
            verified: true,
        };
    } catch (err) {
        const message = `copy from ${ctx.source} onto ${ctx.loc.serverDir} failed: ${(err as Error).message}`;
        ctx.progress(`${message.split("\n")[0]}; putting the previous databases back`);
        try {
            await recoverCopy(ctx.loc, ctx.journal.copyId, ctx.progress);
        } catch (rollbackErr) {
            throw new Error(`${message}\nand putting the previous databases back failed too: ${(rollbackErr as Error).message}`);
        }
        throw new Error(`${message}\n(the staging server's previous databases are in place)`);
    } finally {
        try {
            cluster.hostOfServer(ctx.loc).remove(ctx.pgpass);
        } catch {
            // a host that cannot be reached keeps it (mode 0600) until the next copy's recovery removes it; the copy's own error stands
        }
    }
}

/** Recovery of an earlier interrupted copy, the refusals, and this copy's journal (phase copying). */
async function beginCopy(req: CopyRequest): Promise<CopyContext> {
    const loc = req.target;
    const p = copyPathsOf(loc);
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
    // pg_basebackup runs on the staging server's host: production must answer there (a loopback address of the deploying machine never does).
    if (loc.machine !== undefined && !cluster.hostOfServer(loc).answers(req.source.host, req.source.port)) {
        throw new Error(
            `production's server ${source} does not answer on host ${loc.machine.name} (pg_isready there), where the copy is made: ` +
                "put production's servers on hosts that host can reach (servers.<name>.host; a loopback address is the deploying machine's own), or keep this staging server on the deploying machine",
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
    const copyId = crypto.randomBytes(8).toString("hex");
    const journal: CopyJournal = {
        phase: "copying",
        wasRunning: status === "running",
        copyId,
        pid: process.pid,
        pidStartTime: processStartTime(process.pid),
        copier: os.hostname(),
        source,
        startedAt: new Date().toISOString(),
    };
    writeJournal(loc, journal, true);
    return { req, loc, p, journal, source, pgpass: path.join(loc.serverDir, `${PGPASS_PREFIX}${copyId}`), progress };
}

/** 1. The staging server's own identity rows (and their figures, to check they come back exactly). */
async function saveStagingIdentity({ req, loc, journal, progress }: CopyContext): Promise<StagingIdentity> {
    if (!journal.wasRunning) {
        progress("starting the staging server to read its identity rows");
        cluster.startCluster(loc);
    }
    const saved = await saveIdentityRows(loc, req.targetSuperuserPassword, req.identity);
    const identityKeys = new Set(req.identity.tables.map((t) => figureKey(req.identity.database, `${t.schema}.${t.table}`)));
    const isIdentity = (database: string, table: string) => identityKeys.has(figureKey(database, table));
    const before = await figuresOf(loc, req.targetSuperuserPassword, [req.identity.database], isIdentity);
    progress(
        `saved ${Object.values(saved.rows).reduce((n, rows) => n + rows.length, 0)} identity rows of the staging server ` +
            `(${Object.entries(saved.rows).map(([table, rows]) => `${req.identity.database}.${table}: ${rows.length}`).join(", ")})`,
    );
    return { saved, before, isIdentity };
}

/** 2. The physical copy into pgdata.incoming, as the staging server's OS user, the password in a PGPASSFILE of mode 0600. Returns its size. */
async function baseBackup({ req, loc, p, source, pgpass, progress }: CopyContext): Promise<number> {
    progress(`copying ${source} with pg_basebackup into ${p.incoming}`);
    const copyStart = Date.now();
    let lastCopied: string | undefined; // pg_basebackup repeats its final line
    const onProgress = (line: string) => {
        const m = /(\d+)\/(\d+) kB \((\d+)%\)/.exec(line);
        const message = m ? `copied ${m[1]} of ${m[2]} kB (${m[3]}%)` : undefined;
        if (message !== undefined && message !== lastCopied) {
            progress(message);
            lastCopied = message;
        }
    };
    await cluster.hostOfServer(loc).baseBackup(req.source, {
        dataDir: p.incoming,
        workDir: loc.serverDir,
        passfile: pgpass,
        manifestChecksums: "SHA256",
        label: "stagewise copy",
        onProgress,
    });
    const bytes = directorySize(loc, p.incoming);
    progress(`copied ${bytes} bytes in ${((Date.now() - copyStart) / 1000).toFixed(1)} s`);
    killPoint("incoming-copied");
    return bytes;
}

/** 3. The files are exactly what production sent. */
async function verifyFiles({ loc, p, progress }: CopyContext): Promise<void> {
    progress("verifying the copy with pg_verifybackup");
    const verified = await runWatched(loc, "pg_verifybackup", [p.incoming], {});
    progress(`pg_verifybackup: ${verified.trim().split("\n").pop() ?? ""}`);
}

/** 4. The staging server's own configuration in the copy, on a temporary port (returned) for its temporary server. */
async function configureIncoming({ req, loc, p }: CopyContext): Promise<number> {
    const host = cluster.hostOfServer(loc);
    for (const name of OWN_CONFIG_FILES) {
        const own = path.join(p.data, name);
        const copied = path.join(p.incoming, name);
        if (host.exists(own)) {
            cluster.writeOwnedFile(loc, copied, host.readBytes(own));
        } else {
            host.remove(copied);
        }
    }
    removeRuntimeFiles(loc, p.incoming);
    const tempPort = await freeLoopbackPort(loc.host, undefined, cluster.remoteProbe(loc));
    cluster.writeOwnedFile(loc, path.join(p.incoming, "stagewise.conf"), settingsText(loc, req.targetSettings, tempPort));
    killPoint("incoming-configured");
    return tempPort;
}

/**
 * 5. On a temporary server on the copy (tied to this process: it never outlives it), the figures of
 * the snapshot, then the staging server's own passwords and identity rows, then the figures again:
 * everything the staging server will serve is verified before it serves any of it. The copy is then
 * set to the staging server's port and marked complete.
 */
async function verifyOnTemporaryServer(ctx: CopyContext, identity: StagingIdentity, tempPort: number): Promise<VerifiedCopy> {
    const { req, loc, p, progress } = ctx;
    progress(`computing the figures of the copy on a temporary server (port ${tempPort})`);
    cluster.hostOfServer(loc).remove(p.incomingLog);
    let verified: VerifiedCopy;
    let server: TemporaryServer | undefined;
    try {
        server = await startTemporaryServer(loc, p.incoming, p.incomingLog);
        killPoint("temporary-server");
        verified = await giveCopyStagingIdentity({ ...loc, port: tempPort }, req, identity.saved, progress);
    } catch (err) {
        throw new Error(`the temporary server on the copy failed: ${(err as Error).message}\n${tail(loc, p.incomingLog, 10)}`);
    } finally {
        await server?.stop();
    }
    const { isIdentity } = identity;
    const identityAfter = verified.identityAfter.filter((f) => isIdentity(f.database, f.table));
    const copied = verified.snapshot.filter((f) => !isIdentity(f.database, f.table));
    const problems = [
        ...compareFigures(copied, verified.after.filter((f) => !isIdentity(f.database, f.table)), "copy", "staging server"),
        ...compareFigures(identity.before, identityAfter, "staging server before the copy", "staging server after"),
    ];
    if (problems.length > 0) {
        throw new Error(`the copy does not match: ${problems.slice(0, 10).join("; ")}${problems.length > 10 ? `; and ${problems.length - 10} more` : ""}`);
    }
    progress(`verified: ${copied.length} tables equal to the copy, ${identityAfter.length} identity tables as before the copy`);
    removeRuntimeFiles(loc, p.incoming);
    cluster.writeOwnedFile(loc, path.join(p.incoming, "stagewise.conf"), settingsText(loc, req.targetSettings, loc.port));
    // The mark of a complete copy: once pgdata.incoming becomes pgdata, recovery completes it, never undoes it.
    cluster.writeOwnedFile(loc, path.join(p.incoming, COPY_COMPLETE_MARK), JSON.stringify({ copyId: ctx.journal.copyId, verifiedAt: new Date().toISOString() }) + "\n");
    killPoint("verified");
    return verified;
}

/**
 * 6. The swap, journaled: the staging server stops; its databases move aside; the verified copy
 * takes their place (the commit point: from this rename on, pgdata is the complete copy).
 */
async function swapIn({ loc, p, journal, progress }: CopyContext): Promise<void> {
    progress("stopping the staging server and swapping in the copy");
    writeJournal(loc, { ...journal, phase: "swapping" }, false);
    cluster.stopCluster(loc);
    killPoint("staging-stopped");
    const host = cluster.hostOfServer(loc);
    host.rename(p.data, p.previous);
    host.syncFolder(loc.serverDir);
    killPoint("previous-moved");
    host.rename(p.incoming, p.data);
    host.syncFolder(loc.serverDir);
    killPoint("copy-moved");
}

/** 7. Commit: the journal says so, the previous databases go, the server runs as it did before. */
function commit({ loc, p, journal, progress }: CopyContext): void {
    writeJournal(loc, { ...journal, phase: "committed" }, false);
    killPoint("committed");
    const host = cluster.hostOfServer(loc);
    host.remove(p.previous);
    host.remove(path.join(p.data, COPY_COMPLETE_MARK));
    if (journal.wasRunning) {
        cluster.startCluster(loc);
        progress(`started the staging server on the copy (port ${loc.port})`);
    }
    host.remove(p.incomingLog);
    host.remove(p.journal);
    host.syncFolder(loc.serverDir);
    progress("copy committed");
}

/** What the temporary server saw: the snapshot, and the copy once it had the staging server's identity. */
interface VerifiedCopy {
    snapshot: TableFigures[];
    after: TableFigures[];
    identityAfter: TableFigures[];
    sourceSystemIdentifier: string;
    identityRowsRestored: number;
}

/**
 * On the temporary server `temp` (the incoming copy): the snapshot's figures and system identifier,
 * then the staging server's own passwords and identity rows, then the figures again.
 */
async function giveCopyStagingIdentity(temp: ClusterLocation, req: CopyRequest, saved: SavedRows, progress: (message: string) => void): Promise<VerifiedCopy> {
    const sourceSystemIdentifier = await systemIdentifier(temp, req.source.superuserPassword);
    const snapshot = await figuresOf(temp, req.source.superuserPassword, req.databases, () => true);
    progress(`figures of the copy: ${snapshot.length} tables in ${req.databases.join(", ")}`);
    await resetPasswords(temp, req);
    progress(`reset the passwords of ${cluster.SUPERUSER} and ${req.ownerRole} to the staging server's own`);
    const identityRowsRestored = await restoreIdentityRows(temp, req.targetSuperuserPassword, req.identity.database, saved);
    progress(`restored ${identityRowsRestored} identity rows of the staging server`);
    killPoint("identity-restored");
    const after = await figuresOf(temp, req.targetSuperuserPassword, req.databases, () => true);
    const identityAfter = req.databases.includes(req.identity.database) ? after : await figuresOf(temp, req.targetSuperuserPassword, [req.identity.database], () => true);
    return { snapshot, after, identityAfter, sourceSystemIdentifier, identityRowsRestored };
}

/**
 * For the kill -9 tests: with STAGEWISE_COPY_KILL_POINT set to `name`, the copier says so and waits
 * there for its end, so a test kills it at exactly that boundary. Does nothing otherwise.
 */
function killPoint(name: string): void {
    if (process.env.STAGEWISE_COPY_KILL_POINT === name) {
        console.log(`kill point: ${name}`);
        for (;;) {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1_000);
        }
    }
}

/** Same host (on this machine, loopback names counted as one) and port. */
function sameServer(source: { host: string; port: number }, target: ClusterLocation): boolean {
    if (target.machine !== undefined) {
        return source.port === target.port && source.host.toLowerCase() === target.host.toLowerCase(); // another machine's own address
    }
    const norm = (host: string) => (isLoopback(host) ? "loopback" : host.toLowerCase());
    return source.port === target.port && norm(source.host) === norm(target.host);
}

function isLoopback(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[|\]$/g, "");
    return h === "localhost" || h === "::1" || h.startsWith("127.");
}
