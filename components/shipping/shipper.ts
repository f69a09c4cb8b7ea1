// Log shipping on this machine: a shipper copies newly archived WAL from the primary's archive into
// a standby's incoming folder at an interval, and the archiver's own view (pg_stat_archiver) says
// whether archiving works. Plain Node (no Pulumi), plain functions.
//
// The shipper is a small `sh` loop detached into its own session (the engine kills a provider's
// process group when `up` ends), run as the servers' OS user, with everything it knows in its
// state folder: `shipper.pid`, `status.json` (written whole, then renamed) and `shipped/<name>`,
// one empty marker per shipped file, so a file is shipped once even after the standby has applied
// and moved it away.
import * as path from "path";
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { pgpassLine } from "../postgres/baseBackup";
import type { Client, ClientConfig } from "pg";
import { SUPERUSER, withClient } from "../postgres/pg";
import { waitUntil } from "../postgres/poll";

export interface ShipperSpec {
    /** Folder the primary archives WAL into. */
    from: string;
    /** The standby's incoming folder. */
    to: string;
    /** Time between two shipping runs (whole seconds; at least 1 s). */
    intervalMs: number;
    /** OS user the shipper runs as (the servers' user, when deploying as root). @default the caller */
    osUser?: string;
    /** Folder of the shipper's pid, status and markers; created when missing. */
    stateDir: string;
    /** The machine the shipper and its folders are on (the receiving standby's). @default this machine */
    machine?: RemoteMachine;
    /**
     * When `from` is on another machine than the shipper (the primary's host): the primary, whose
     * archive files the shipper reads through PostgreSQL (pg_ls_dir, pg_read_binary_file, as its
     * superuser, the password in a 0600 PGPASSFILE of the state folder), and the receiving host's psql.
     * With `sources` (every member that may be the primary, the declared one first; each archives into
     * the same folder on its host), each run reads the one that accepts writes, so shipping follows a
     * switchover or failover; should none accept writes, the first that answers.
     */
    pull?: { primary: { host: string; port: number; superuserPassword: string }; binDir: string; sources?: ArchiveSource[] };
}

/** A member whose host keeps an archive of production's WAL, the same folder on each. */
export interface ArchiveSource {
    host: string;
    port: number;
}

export interface ShipperStatus {
    running: boolean;
    pid: number | null;
    /** When the last shipping run ended (ISO), or null before the first. */
    lastRunAt: string | null;
    /** Name of the newest WAL segment shipped so far, or null. */
    newestShipped: string | null;
    /** When that segment was archived on the primary (its file time in the archive, ISO), or null. */
    newestShippedArchivedAt: string | null;
    /** What went wrong in the last run, or null. */
    lastError: string | null;
}

// $1 from, $2 to, $3 interval (s), $4 state folder. Copies under a dot-name, then links it into place:
// `ln` fails rather than replace an existing file, so nothing is ever overwritten.
const SHIPPER_SCRIPT = `
set -u
from=$1 to=$2 interval=$3 state=$4
mkdir -p "$state/shipped"
while :; do
  err=""
  for src in "$from"/*; do
    [ -f "$src" ] || continue
    f=\${src##*/}
    [ -e "$state/shipped/$f" ] && continue
    if [ ! -e "$to/$f" ]; then
      tmp="$to/.$f.shipping"
      if ! out=$(cp "$src" "$tmp" 2>&1 && ln "$tmp" "$to/$f" 2>&1); then
        rm -f "$tmp"
        err="shipping $f failed: $out"
        break
      fi
      rm -f "$tmp"
    fi
    : > "$state/shipped/$f"
  done
  newest=$(ls "$state/shipped" | grep -E '^[0-9A-F]{24}$' | tail -n 1)
  archived=null
  if [ -n "$newest" ] && [ -e "$from/$newest" ]; then archived=$(stat -c %Y "$from/$newest"); fi
  err=$(printf '%s' "$err" | tr -d '"\\\\' | tr '\\n\\t' '  ')
  [ -n "$err" ] && err="\\"$err\\"" || err=null
  [ -n "$newest" ] && newest="\\"$newest\\"" || newest=null
  printf '{"lastRunAt":%s,"newestShipped":%s,"newestShippedArchivedAt":%s,"lastError":%s}\\n' "$(date +%s)" "$newest" "$archived" "$err" > "$state/status.json.tmp"
  mv -f "$state/status.json.tmp" "$state/status.json"
  sleep "$interval"
done
`;

// The same loop for an archive on another machine: $5 is psql, $6 the sources ("host,port host,port",
// or empty: PGHOST and PGPORT name the primary); PGUSER and PGPASSFILE say who reads. Each file is
// read whole as base64, decoded, its size checked against the primary's pg_stat_file, then linked
// into place as above.
const PULL_SCRIPT = `
set -u
from=$1 to=$2 interval=$3 state=$4 psql=$5 sources=$6
from_sql=$(printf '%s' "$from" | sed "s/'/''/g")
q() { "$psql" -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
mkdir -p "$state/shipped"
cur=""
while :; do
  err=""
  if [ -n "$sources" ]; then
    order=$cur pick=""
    for s in $sources; do [ "$s" = "$cur" ] || order="$order $s"; done
    for s in $order; do
      r=$(PGHOST=\${s%,*} PGPORT=\${s##*,} "$psql" -XAtq -c "SELECT pg_is_in_recovery()" 2>/dev/null) || continue
      [ -n "$pick" ] || pick=$s
      if [ "$r" = f ]; then pick=$s; break; fi
    done
    if [ -n "$pick" ]; then cur=$pick; export PGHOST=\${pick%,*} PGPORT=\${pick##*,}; fi
  fi
  if ! names=$(q "SELECT f FROM pg_ls_dir('$from_sql') AS f WHERE f !~ '^[.]' ORDER BY 1" 2>&1); then
    err="reading the archive $from on the primary failed: $names"; names=""
  fi
  for f in $names; do
    case "$f" in *[!0-9A-Za-z._-]*) continue;; esac
    [ -e "$state/shipped/$f" ] && continue
    if [ ! -e "$to/$f" ]; then
      tmp="$to/.$f.shipping"
      if ! out=$( { q "SELECT encode(pg_read_binary_file('$from_sql/$f'), 'base64')" > "$tmp.b64" && base64 -d "$tmp.b64" > "$tmp" &&
                    want=$(q "SELECT size FROM pg_stat_file('$from_sql/$f')") && got=$(stat -c %s "$tmp") &&
                    { [ "$got" = "$want" ] || { echo "read $got of $want bytes"; false; }; } && ln "$tmp" "$to/$f"; } 2>&1); then
        rm -f "$tmp" "$tmp.b64"
        err="shipping $f failed: $out"
        break
      fi
      rm -f "$tmp" "$tmp.b64"
    fi
    : > "$state/shipped/$f"
  done
  newest=$(ls "$state/shipped" | grep -E '^[0-9A-F]{24}$' | tail -n 1)
  archived=null
  if [ -n "$newest" ]; then archived=$(q "SELECT extract(epoch FROM modification)::bigint FROM pg_stat_file('$from_sql/$newest', true)" 2>/dev/null); [ -n "$archived" ] || archived=null; fi
  err=$(printf '%s' "$err" | tr -d '"\\\\' | tr '\\n\\t' '  ')
  [ -n "$err" ] && err="\\"$err\\"" || err=null
  [ -n "$newest" ] && newest="\\"$newest\\"" || newest=null
  printf '{"lastRunAt":%s,"newestShipped":%s,"newestShippedArchivedAt":%s,"lastError":%s}\\n' "$(date +%s)" "$newest" "$archived" "$err" > "$state/status.json.tmp"
  mv -f "$state/status.json.tmp" "$state/status.json"
  [ $# -lt 7 ] || break # a seventh argument: one run only (a cutover's last shipment)
  sleep "$interval"
done
`;

const PID_FILE = "shipper.pid";
const PGPASS_FILE = ".pgpass";
const STATUS_FILE = "status.json";

/** The shipper's host (this machine unless `machine`), its files the servers' OS user's. */
function hostFor(osUser: string | undefined, machine?: RemoteMachine, binDir = "") {
    return hostOf({ binDir, osUser, machine });
}

/** Creates `dir` and any missing parents, giving each folder it creates to `osUser`. */
export function ensureFolder(dir: string, osUser?: string, mode = 0o700, machine?: RemoteMachine): void {
    hostFor(osUser, machine).makeFolder(dir, { mode });
}

/** The pid of the shipper of `stateDir` when it is alive (and really is that shipper, not a reused pid). */
function livePid(stateDir: string, machine?: RemoteMachine): number | null {
    const host = hostFor(undefined, machine);
    let pid: number;
    try {
        pid = Number(host.readText(path.join(stateDir, PID_FILE)).trim());
    } catch {
        return null;
    }
    const argv = host.commandOf(pid);
    return argv !== undefined && argv.includes("stagewise-shipper") && argv.includes(stateDir) ? pid : null;
}

/**
 * Starts the shipper of `spec.stateDir` unless it already runs (then returns its pid). The folders
 * `to` and `stateDir` are created for the OS user; `from` must exist.
 */
export function startShipper(spec: ShipperSpec): number {
    const stateDir = path.resolve(spec.stateDir);
    const host = hostFor(spec.osUser, spec.machine);
    if (spec.pull !== undefined) {
        // Written each time: a running shipper's next psql reads a changed password from it.
        writePgpass(host, stateDir, spec.pull);
    }
    const running = livePid(stateDir, spec.machine);
    if (running !== null) {
        return running;
    }
    if (spec.pull === undefined && !host.exists(spec.from)) {
        throw new Error(`the archive folder ${spec.from} does not exist (nothing to ship from)`);
    }
    makeShipperFolders(host, spec, stateDir);
    const seconds = String(Math.max(1, Math.round(spec.intervalMs / 1000)));
    // Its own session, so it outlives the engine's provider process group.
    const { pid } = launch(host, spec, stateDir, seconds, false);
    host.writeFile(path.join(stateDir, PID_FILE), `${pid}\n`, { mode: 0o644, owned: false });
    return pid;
}

/** The receiving folder and the markers' folder, made for the servers' OS user. */
function makeShipperFolders(host: ReturnType<typeof hostFor>, spec: ShipperSpec, stateDir: string): void {
    for (const dir of [spec.to, path.join(stateDir, "shipped")]) {
        host.makeFolder(dir);
    }
}

/** The primary's password for a pulling shipper: a 0600 PGPASSFILE in its state folder. */
function writePgpass(host: ReturnType<typeof hostFor>, stateDir: string, pull: NonNullable<ShipperSpec["pull"]>): void {
    host.makeFolder(stateDir);
    const password = pull.primary.superuserPassword;
    const lines = [pull.primary, ...(pull.sources ?? [])].map((s) => pgpassLine({ host: s.host, port: s.port, superuserPassword: password }));
    host.writeFile(path.join(stateDir, PGPASS_FILE), [...new Set(lines)].join(""), { mode: 0o600 });
}

/** The pull loop's sources: "host,port host,port" (hosts hold no comma or blank), or empty. */
function sourcesArgument(sources: ArchiveSource[] | undefined): string {
    return (sources ?? []).map((s) => `${s.host},${s.port}`).join(" ");
}

/** Starts the shipper's loop detached (`once`: a single run of the pull loop, for a cutover). */
function launch(host: ReturnType<typeof hostFor>, spec: ShipperSpec, stateDir: string, seconds: string, once: boolean) {
    const pull = spec.pull;
    return host.startDetached(
        "sh",
        pull === undefined
            ? ["-c", SHIPPER_SCRIPT, "stagewise-shipper", spec.from, spec.to, seconds, stateDir]
            : ["-c", PULL_SCRIPT, "stagewise-shipper", spec.from, spec.to, seconds, stateDir, path.posix.join(pull.binDir, "psql"), sourcesArgument(pull.sources), ...(once ? ["once"] : [])],
        {
            cwd: stateDir,
            logFile: path.join(stateDir, "shipper.log"),
            what: "the shipper",
            env: {
                PATH: spec.machine ? "/usr/bin:/bin" : (process.env.PATH ?? "/usr/bin:/bin"),
                LC_ALL: "C",
                ...(pull === undefined
                    ? {}
                    : { PGHOST: pull.primary.host, PGPORT: String(pull.primary.port), PGUSER: "postgres", PGDATABASE: "postgres", PGPASSFILE: path.join(stateDir, PGPASS_FILE), PGCONNECT_TIMEOUT: "10" }),
            },
        },
    );
}

/**
 * One pull of what the archive on the primary's machine holds and the receiver lacks, waited for (a
 * cutover's last shipment, with the shipper stopped). Returns the run's status; throws its error.
 */
export async function pullOnce(spec: ShipperSpec & { pull: NonNullable<ShipperSpec["pull"]> }, timeoutMs = 300_000): Promise<ShipperStatus> {
    const stateDir = path.resolve(spec.stateDir);
    const host = hostFor(spec.osUser, spec.machine);
    writePgpass(host, stateDir, spec.pull);
    makeShipperFolders(host, spec, stateDir);
    const run = launch(host, spec, stateDir, "1", true);
    await waitUntil(() => !host.isAlive(run), { timeoutMs, intervalMs: 200, failure: `the last shipment from ${spec.from} did not finish within ${Math.round(timeoutMs / 1000)} s` });
    const status = shipperStatus(stateDir, spec.machine);
    if (status.lastError !== null) {
        throw new Error(status.lastError);
    }
    return status;
}

/** What the shipper of `stateDir` (on `machine`) last recorded, and whether it runs. */
export function shipperStatus(stateDir: string, machine?: RemoteMachine): ShipperStatus {
    const pid = livePid(path.resolve(stateDir), machine);
    let recorded: { lastRunAt?: number; newestShipped?: string | null; newestShippedArchivedAt?: number | null; lastError?: string | null } = {};
    try {
        recorded = JSON.parse(hostFor(undefined, machine).readText(path.join(stateDir, STATUS_FILE)));
    } catch {
        // no run finished yet
    }
    const iso = (seconds: number | null | undefined) => (typeof seconds === "number" ? new Date(seconds * 1000).toISOString() : null);
    return {
        running: pid !== null,
        pid,
        lastRunAt: iso(recorded.lastRunAt),
        newestShipped: recorded.newestShipped ?? null,
        newestShippedArchivedAt: iso(recorded.newestShippedArchivedAt),
        lastError: recorded.lastError ?? null,
    };
}

/** Waits until the shipper has finished a run that started after this call (or `timeoutMs` passes). */
export async function waitForShippingRun(stateDir: string, timeoutMs = 30_000, machine?: RemoteMachine): Promise<ShipperStatus> {
    const since = Math.floor(Date.now() / 1000);
    const ranSince = () => {
        const status = shipperStatus(stateDir, machine);
        return status.lastRunAt !== null && Date.parse(status.lastRunAt) / 1000 > since && status;
    };
    return waitUntil(ranSince, { timeoutMs, intervalMs: 200, failure: `the shipper of ${stateDir} finished no run within ${Math.round(timeoutMs / 1000)} s` });
}

/** Stops the shipper of `stateDir` (if it runs) and waits until it is gone. Its state stays. */
export async function stopShipper(stateDir: string, machine?: RemoteMachine): Promise<void> {
    const pid = livePid(path.resolve(stateDir), machine);
    if (pid === null) {
        return;
    }
    const host = hostFor(undefined, machine);
    try {
        host.signal(pid, "SIGTERM", { group: true }); // the whole session's group: the loop and a running cp or sleep
    } catch {
        host.signal(pid, "SIGTERM");
    }
    await waitUntil(() => livePid(path.resolve(stateDir), machine) === null, { timeoutMs: 5_000, intervalMs: 50, failure: `the shipper (pid ${pid}) of ${stateDir} did not stop` });
}

export interface ArchiverStatus {
    /** The last archive attempt failed (pg_stat_archiver: last_failed_time newer than last_archived_time). */
    failing: boolean;
    lastArchivedWal: string | null;
    lastArchivedAt: string | null;
    lastFailedWal: string | null;
    lastFailedAt: string | null;
    failedCount: number;
    /** "archiving 000000010000000000000003 has failed since <time> (n failures); ..." when failing, else null. */
    lastError: string | null;
}

/** The primary's archiver as pg_stat_archiver reports it. */
export async function archiverStatus(connection: ClientConfig | string): Promise<ArchiverStatus> {
    return (await withClient(connection, readArchiver)).status;
}

/**
 * The archiver of the member that accepts writes among `sources` (tried in order; after a role change
 * the primary is another member, archiving on its own host), or undefined when none does.
 */
export async function actingArchiverStatus(sources: ArchiveSource[], superuserPassword: string, connectionTimeoutMillis = 5_000): Promise<ArchiverStatus | undefined> {
    for (const source of sources) {
        const connection = { host: source.host, port: source.port, user: SUPERUSER, password: superuserPassword, database: "postgres", connectionTimeoutMillis };
        const seen = await withClient(connection, readArchiver).catch(() => undefined);
        if (seen !== undefined && !seen.inRecovery) {
            return seen.status;
        }
    }
    return undefined;
}

/** pg_stat_archiver over an open connection, and whether the server is a standby (one query). */
async function readArchiver(c: Client): Promise<{ status: ArchiverStatus; inRecovery: boolean }> {
    const { rows } = await c.query(
        `SELECT last_archived_wal, last_archived_time, last_failed_wal, last_failed_time, failed_count::int AS failed_count,
                current_setting('archive_command') AS archive_command, pg_is_in_recovery() AS in_recovery
           FROM pg_stat_archiver`,
    );
    const row = rows[0] as {
        last_archived_wal: string | null;
        last_archived_time: Date | null;
        last_failed_wal: string | null;
        last_failed_time: Date | null;
        failed_count: number;
        archive_command: string;
        in_recovery: boolean;
    };
    const failing = row.last_failed_time !== null && (row.last_archived_time === null || row.last_failed_time > row.last_archived_time);
    const iso = (d: Date | null) => (d === null ? null : d.toISOString());
    const status = {
        failing,
        lastArchivedWal: row.last_archived_wal,
        lastArchivedAt: iso(row.last_archived_time),
        lastFailedWal: row.last_failed_wal,
        lastFailedAt: iso(row.last_failed_time),
        failedCount: row.failed_count,
        lastError: failing ? archiveFailureMessage(row.last_failed_wal, iso(row.last_failed_time), iso(row.last_archived_time)) : null,
    };
    return { status, inRecovery: row.in_recovery };
}

/** The words of the warning: which file, since when, and what to check. */
export function archiveFailureMessage(wal: string | null, failedAt: string | null, lastArchivedAt: string | null): string {
    return (
        `archiving WAL file ${wal ?? "(unknown)"} is failing (last failure ${failedAt ?? "unknown"}; ` +
        `last success ${lastArchivedAt ?? "never"}): nothing newer reaches the archive or the standbys. ` +
        "Check that the archive folder exists and is writable by the servers' OS user, that its disk has room, " +
        "and the server log for the archive_command's error"
    );
}
