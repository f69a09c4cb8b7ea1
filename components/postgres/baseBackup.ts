// The one pg_basebackup invocation: run on the receiving host from the source's address, WAL
// streamed, progress lines passed on as they come; the source's password in a PGPASSFILE of mode
// 0600 that is removed afterwards, never on a command line or in the environment.
import type { BackupSource, BaseBackupOptions, Host } from "../platform/platform";
import { SUPERUSER } from "./pg";

/** A .pgpass line for the superuser of `source` (libpq's escapes for \ and :). */
export function pgpassLine(source: Pick<BackupSource, "host" | "port" | "superuserPassword">): string {
    const field = (value: string) => value.replace(/\\/g, "\\\\").replace(/:/g, "\\:");
    return `${field(source.host)}:${source.port}:*:${field(SUPERUSER)}:${field(source.superuserPassword)}\n`;
}

/** pg_basebackup's arguments: plain format, WAL streamed, a fast checkpoint, never a password prompt. */
export function baseBackupArgs(source: Pick<BackupSource, "host" | "port">, options: Omit<BaseBackupOptions, "workDir" | "onProgress" | "passfile">): string[] {
    return [
        "-h", source.host,
        "-p", String(source.port),
        "-U", SUPERUSER,
        "-D", options.dataDir,
        "-X", "stream",
        "-c", "fast",
        ...(options.writeRecoveryConf ? ["-R"] : []),
        ...(options.slot !== undefined ? ["-C", "-S", options.slot] : []),
        ...(options.manifestChecksums !== undefined ? [`--manifest-checksums=${options.manifestChecksums}`] : []),
        ...(options.label !== undefined ? [`--label=${options.label}`] : []),
        "-w",
        "--progress",
    ];
}

/** Streams a base backup of `source` into `options.dataDir` on `host`. */
export async function runBaseBackup(host: Host, source: BackupSource, options: BaseBackupOptions): Promise<void> {
    const passfile = options.passfile ?? `${options.workDir.replace(/\/+$/, "")}/.basebackup-pgpass`;
    host.writeFile(passfile, pgpassLine(source), { mode: 0o600 });
    try {
        await host.watch("pg_basebackup", baseBackupArgs(source, options), { cwd: options.workDir, env: { PGPASSFILE: passfile }, onLine: options.onProgress });
    } finally {
        host.remove(passfile);
    }
}
