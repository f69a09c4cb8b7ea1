// copyDatabases: the copy itself, step by step: recovery of any earlier interrupted copy, checks, the
// staging server's identity rows saved, pg_basebackup into pgdata.incoming, pg_verifybackup, figures
// of the snapshot on a temporary server, the journaled swap, passwords and identity rows restored,
// figures compared, commit. Any failure rolls back through recovery.ts.
// Part of platform/copy (see index.ts): plain Node, plain functions, no module-level mutable state.
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as cluster from "../cluster";
import type { ClusterLocation } from "../cluster";
import { freeLoopbackPort } from "../ports";
import { compareFigures, figureKey, figuresOf } from "./figures";
import { resetPasswords, restoreIdentityRows, saveIdentityRows } from "./identity";
import {
    directorySize,
    removeRuntimeFiles,
    settingsText,
    systemIdentifier,
    tail,
    writeOwned,
    OWN_CONFIG_FILES,
} from "./incoming";
import { copyPathsOf, fsyncDir, writeJournal } from "./journal";
import type { CopyJournal } from "./journal";
import { processStartTime } from "../liveness";
import { stopServerOn } from "./processes";
import { runWatched, writePgpass, PGPASS_PREFIX } from "./programs";
import { recoverCopy } from "./recovery";
import type { CopyReport, CopyRequest, TableFigures } from "./types";

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
            `saved ${Object.values(saved.rows).reduce((n, rows) => n + rows.length, 0)} identity rows of the staging server ` +
                `(${Object.entries(saved.rows).map(([table, rows]) => `${req.identity.database}.${table}: ${rows.length}`).join(", ")})`,
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
