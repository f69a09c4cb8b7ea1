// Role changes of a streaming-replication group on this machine: a planned switchover that loses no
// commit (CloudNativePG's promotion-token idea: shut the primary down cleanly, read its shutdown
// checkpoint, let the standby replay past it, then promote), a failover when the primary is gone,
// and bringing a former primary (or any member) back as a standby of the new one — with pg_rewind
// only when its history has diverged. Plain Node (no Pulumi), plain functions.
import * as path from "path";
import * as cluster from "../../postgres/cluster";
import type { ClusterLocation } from "../../postgres/cluster";
import { runWatched, writePgpass } from "../../copy/programs";
import { withClient } from "../../postgres/pg";
import { waitUntil } from "../../postgres/poll";
import { configureStandby, conninfoValue, Member, primaryPassfileOf, slotOf, Upstream } from "./replication";

export { slotOf, hasStandbySignal } from "./replication";

export type { Member } from "./replication";

export type Progress = (line: string) => void;

function superuser(loc: Upstream, password: string) {
    return { host: loc.host, port: loc.port, user: cluster.SUPERUSER, password, database: "postgres", connectionTimeoutMillis: 5_000 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Running and accepting connections (pg_isready: no password needed). */
export function acceptsConnections(loc: ClusterLocation): boolean {
    return cluster.clusterStatus(loc) === "running" && cluster.answersOnPort(loc);
}

/** The PID of the member's postmaster when that process is alive (not gone, not a zombie waiting to be reaped). */
export function livePostmaster(loc: ClusterLocation): number | undefined {
    const host = cluster.hostOfServer(loc);
    try {
        const pid = Number(host.readText(path.join(cluster.dataDirOf(loc), "postmaster.pid")).split("\n")[0]);
        return host.isAlive({ pid, startTime: null }) ? pid : undefined;
    } catch {
        return undefined; // no pid file, or no such process
    }
}

/** Stops the member (fast) unless its postmaster is already gone — a killed one leaves its pid file behind. */
export function stopIfAlive(loc: ClusterLocation): void {
    if (livePostmaster(loc) !== undefined) {
        cluster.stopCluster(loc);
    }
}

/**
 * What a member is, from one connection: "down" when it does not accept connections (refused, timed
 * out, starting up or shutting down). Any other error (a wrong password, say) is thrown: a primary
 * that answers must never be taken for a gone one and failed over.
 */
export async function roleOf(loc: Upstream, password: string): Promise<"primary" | "standby" | "down"> {
    try {
        return (await inRecovery(loc, password)) ? "standby" : "primary";
    } catch (err) {
        const { code, message } = err as { code?: string; message: string };
        if (["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EHOSTUNREACH", "57P01", "57P03"].includes(code ?? "") || /timeout|terminated unexpectedly/i.test(message)) {
            return "down";
        }
        throw new Error(`cannot tell whether ${loc.host}:${loc.port} is a primary: ${message}`);
    }
}

export async function inRecovery(loc: Upstream, password: string): Promise<boolean> {
    return withClient(superuser(loc, password), async (c) => Boolean((await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r));
}

/** What pg_controldata says about a stopped cluster. */
export function controlData(loc: ClusterLocation): { state: string; checkpointLsn: string; timeline: number } {
    const out = cluster.runProgram(loc, "pg_controldata", ["--pgdata", cluster.dataDirOf(loc)]);
    const field = (name: string) => new RegExp(`^${name}:\\s*(.+)$`, "m").exec(out)?.[1].trim() ?? "";
    return { state: field("Database cluster state"), checkpointLsn: field("Latest checkpoint location"), timeline: Number(field("Latest checkpoint's TimeLineID")) };
}

/** Waits until `loc` has replayed WAL past `lsn`; false when it did not within `timeoutMs`. */
export async function waitForReplayPast(loc: ClusterLocation, password: string, lsn: string, timeoutMs: number): Promise<boolean> {
    const replayedPast = () =>
        withClient(superuser(loc, password), async (c) =>
            Boolean((await c.query("SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) > 0 AS done", [lsn])).rows[0].done),
        ).catch(() => false);
    return waitUntil(replayedPast, { timeoutMs, intervalMs: 50 }).catch(() => false);
}

/** Drops the given members' slots on `loc` when they are there and idle (a standby keeps no slots for its peers). */
export async function dropIdleSlots(loc: Upstream, password: string, names: string[]): Promise<void> {
    await withClient(superuser(loc, password), async (c) => {
        for (const name of names) {
            await c.query("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active", [slotOf(name)]);
        }
    });
}

/**
 * Rewinds a stopped member to the history of `source` (pg_rewind; data checksums are on). pg_rewind
 * copies the source's configuration files too: the member's own are put back afterwards. A member
 * that crashed is first recovered by pg_rewind itself (single-user mode); postgres processes of a
 * killed postmaster can hold its shared memory for a moment, so that is retried briefly.
 */
export async function rewind(member: Member, source: Upstream, password: string, onProgress: Progress): Promise<void> {
    const { loc } = member;
    const dataDir = cluster.dataDirOf(loc);
    const host = cluster.hostOfServer(loc);
    const ownFiles = ["stagewise.conf", "postgresql.auto.conf", "pg_hba.conf", "postgresql.conf"].filter((f) => host.exists(path.join(dataDir, f)));
    const saved = Object.fromEntries(ownFiles.map((f) => [f, host.readText(path.join(dataDir, f))]));
    host.remove(path.join(dataDir, "standby.signal")); // single-user recovery refuses standby mode
    const passfile = primaryPassfileOf(loc);
    writePgpass(loc, passfile, { host: source.host, port: source.port, superuserPassword: password });
    // A just-promoted source records its new timeline in pg_control only at its next checkpoint; until
    // then pg_rewind sees one timeline and wrongly finds nothing to rewind.
    await withClient(superuser(source, password), (c) => c.query("CHECKPOINT"));
    const sourceInfo = `host=${conninfoValue(source.host)} port=${source.port} user=${cluster.SUPERUSER} dbname=postgres passfile=${conninfoValue(passfile)}`;
    for (let attempt = 1; ; attempt++) {
        try {
            await runWatched(loc, "pg_rewind", ["--target-pgdata", dataDir, "--source-server", sourceInfo], {}, (line) => {
                if (!/^backend>/.test(line.trim())) {
                    onProgress(`pg_rewind: ${line.trim()}`);
                }
            });
            break;
        } catch (err) {
            if (attempt >= 20 || !/shared memory|lock file|already running/i.test((err as Error).message)) {
                throw err;
            }
            await sleep(500);
        }
    }
    for (const [file, text] of Object.entries(saved)) {
        cluster.writeOwnedFile(loc, path.join(dataDir, file), text);
    }
}

/** Waits until the primary at `upstream` streams to `member` through its slot. */
export async function waitUntilStreaming(member: Member, upstream: Upstream, password: string, timeoutMs = 60_000): Promise<void> {
    const streams = () =>
        withClient(superuser(upstream, password), async (c) =>
            Boolean((await c.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slotOf(member.name)])).rows[0]?.active),
        ).catch(() => false);
    await waitUntil(streams, {
        timeoutMs,
        intervalMs: 100,
        failure: `${member.name} did not start streaming from ${upstream.host}:${upstream.port} within ${Math.round(timeoutMs / 1000)} s (see ${cluster.logFileOf(member.loc)})`,
    });
}

/** Rejoins `member` as a standby; when it cannot, it stays stopped (it takes no writes) and is said to need a rebuild. Whether it rejoined. */
export async function rejoinOrStop(member: Member, upstream: Upstream, password: string, opts: Parameters<typeof rejoinAsStandby>[3]): Promise<boolean> {
    try {
        await rejoinAsStandby(member, upstream, password, opts);
        return true;
    } catch (err) {
        opts.onProgress(`${member.name} could not rejoin (${(err as Error).message.split("\n").slice(0, 3).join(" ")}); it stays stopped and needs a rebuild`);
        stopIfAlive(member.loc);
        return false;
    }
}

/**
 * Brings a member back as a standby of the primary at `upstream`: stopped, rewound when asked or
 * when starting without a rewind does not stream, configured, started read-only, streaming.
 */
export async function rejoinAsStandby(
    member: Member,
    upstream: Upstream,
    password: string,
    opts: { rewind: boolean; onProgress: Progress; /** Slots it kept while it was primary: a standby needs none. */ staleSlots: string[] },
): Promise<void> {
    stopIfAlive(member.loc);
    if (opts.rewind) {
        await rewind(member, upstream, password, opts.onProgress);
    }
    configureStandby(member, upstream, password);
    cluster.startCluster(member.loc);
    try {
        await waitUntilStreaming(member, upstream, password, opts.rewind ? 60_000 : 15_000);
    } catch (err) {
        if (opts.rewind) {
            throw err;
        }
        opts.onProgress(`${member.name} does not stream without a rewind; rewinding`);
        await rejoinAsStandby(member, upstream, password, { ...opts, rewind: true });
        return;
    }
    await dropIdleSlots(member.loc, password, opts.staleSlots);
    opts.onProgress(`${member.name} streams from ${upstream.host}:${upstream.port} as a standby`);
}

/**
 * Promotes a standby over one connection (no program to start: a failover's time counts): creates the
 * other members' slots first (reserving WAL from its last restartpoint, which a rejoining member
 * needs), sets synchronous_standby_names (a value copied from the old primary could name itself),
 * then pg_promote, waiting until it accepts writes.
 */
export async function promoteWithSlots(loc: Upstream, password: string, slotsFor: string[], synchronous: string[]): Promise<void> {
    await withClient(superuser(loc, password), async (c) => {
        for (const name of slotsFor) {
            await c.query(
                "SELECT pg_create_physical_replication_slot($1, true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)",
                [slotOf(name)],
            );
        }
        const wanted = synchronousStandbyNames(synchronous);
        const current = (await c.query("SELECT current_setting('synchronous_standby_names') AS v")).rows[0].v as string;
        if (current !== wanted) {
            await c.query(wanted === "" ? "ALTER SYSTEM RESET synchronous_standby_names" : `ALTER SYSTEM SET synchronous_standby_names = ${c.escapeLiteral(wanted)}`);
            await c.query("SELECT pg_reload_conf()");
        }
        const { rows } = await c.query("SELECT pg_promote(true, 60) AS promoted");
        if (!rows[0].promoted) {
            throw new Error(`${loc.host}:${loc.port} was not promoted within 60 s`);
        }
    });
}

/** pg_ctl promote, waiting until the member accepts writes. */
export function promote(loc: ClusterLocation): void {
    cluster.runProgram(loc, "pg_ctl", ["promote", "--pgdata", cluster.dataDirOf(loc), "--wait", "--timeout", "120", "--silent"]);
}

export interface RoleChange {
    kind: "switchover" | "failover";
    from: string;
    to: string;
    /** Switchover: the old primary's shutdown checkpoint, which the new one replayed past before promotion. */
    checkpointLsn: string | null;
    /** Members brought back as standbys of the new primary; the others (e.g. a gone primary's missing folder) need a rebuild. */
    rejoined: string[];
    needsRebuild: string[];
    /** Members on hosts declared lost: not contacted; they rejoin once their host is back. */
    onLostHosts: string[];
    seconds: number;
}

/** On a host declared lost (hosts.<name>.lost): never contacted, never fenced over SSH. */
export const isOnLostHost = (member: Member): boolean => member.loc.machine?.lost === true;

/**
 * Makes `to` the primary of the group. Planned switchover when `from` accepts connections (zero lost
 * commits, or nothing changes: a standby that does not replay past the shutdown checkpoint in time
 * gets the old primary started again as it was); failover otherwise (`from` is stopped if a
 * postmaster lingers, and never started writable again). Every other member is rejoined as a
 * standby of `to`. `synchronous` is what the new primary waits for on commit.
 */
export async function changePrimary(
    from: Member,
    to: Member,
    others: Member[],
    password: string,
    synchronous: string[],
    onProgress: Progress,
): Promise<RoleChange> {
    const started = Date.now();
    if (isOnLostHost(to)) {
        throw new Error(`cannot make ${to.name} the primary: its host ${to.loc.machine!.name} is declared lost`);
    }
    const fromLost = isOnLostHost(from);
    const [toRole, fromRole] = await Promise.all([roleOf(to.loc, password), fromLost ? ("down" as const) : roleOf(from.loc, password)]);
    if (toRole === "down") {
        throw new Error(`cannot make ${to.name} the primary: it does not accept connections (bring it up as a standby first)`);
    }
    if (toRole === "primary") {
        throw new Error(`cannot make ${to.name} the primary: it is already writable (and so is ${from.name}?); resolve this by hand`);
    }
    const planned = fromRole === "primary";
    const members = [from, ...others];
    let checkpointLsn: string | null = null;
    if (planned) {
        onProgress(`switchover ${from.name} -> ${to.name}: shutting ${from.name} down (fast)`);
        cluster.stopCluster(from.loc);
        const control = controlData(from.loc);
        checkpointLsn = control.checkpointLsn;
        onProgress(`switchover: ${from.name} stopped (${control.state}) at shutdown checkpoint ${checkpointLsn}; waiting for ${to.name} to replay past it`);
        if (!(await waitForReplayPast(to.loc, password, checkpointLsn, 60_000))) {
            cluster.startCluster(from.loc); // still the primary: nothing was promoted
            throw new Error(`switchover aborted: ${to.name} did not replay ${from.name}'s shutdown checkpoint ${checkpointLsn} within 60 s; ${from.name} was started again as the primary`);
        }
    } else {
        onProgress(`failover ${from.name} -> ${to.name}: ${fromLost ? `${from.name}'s host ${from.loc.machine!.name} is declared lost` : `${from.name} does not accept connections`}`);
        // A lost host is fenced by whoever declared it lost (powered off, cut off): it is not reached here.
        const pid = fromLost ? undefined : livePostmaster(from.loc);
        if (pid !== undefined) {
            onProgress(`fencing ${from.name}: its postmaster (pid ${pid}) is alive but does not answer; stopping it (immediate)`);
            cluster.hostOfServer(from.loc).signal(pid, "SIGQUIT"); // PostgreSQL's immediate shutdown
            await waitUntil(() => livePostmaster(from.loc) === undefined, {
                timeoutMs: 10_000,
                intervalMs: 100,
                failure: `failover aborted: ${from.name}'s postmaster (pid ${pid}) does not stop; stop it by hand first (nothing was promoted)`,
            });
        }
    }
    if (!planned) {
        const ahead = await standbyAheadOf(to, others.filter((m) => !isOnLostHost(m)), password);
        if (ahead) {
            throw new Error(
                `failover aborted: ${ahead.name} has received the gone primary's WAL up to ${ahead.lsn}, ${ahead.bytes} bytes beyond ${to.name} (${ahead.toLsn}); ` +
                    `promoting ${to.name} would lose the commits only ${ahead.name} has. Declare ${ahead.name} the primary instead, ` +
                    `or stop ${ahead.name} if it must not be used (nothing was promoted)`,
            );
        }
    }
    await promoteWithSlots(to.loc, password, members.map((m) => m.name), synchronous);
    onProgress(`${to.name} promoted: it accepts writes`);
    await dropIdleSlots(to.loc, password, [to.name]);

    const rejoined: string[] = [];
    const needsRebuild: string[] = [];
    const onLostHosts = members.filter(isOnLostHost).map((m) => m.name);
    for (const member of members.filter((m) => !isOnLostHost(m))) {
        if (cluster.clusterStatus(member.loc) === "missing") {
            needsRebuild.push(member.name);
            onProgress(`${member.name} has no data directory: it needs a rebuild`);
            continue;
        }
        // After a clean switchover the old primary's history ends where the new one's forks: no rewind.
        const mustRewind = !planned && member === from;
        onProgress(`rejoining ${member.name} as a standby of ${to.name}${mustRewind ? " (pg_rewind)" : ""}`);
        const back = await rejoinOrStop(member, to.loc, password, { rewind: mustRewind, onProgress, staleSlots: [to, ...members].map((m) => m.name) });
        (back ? rejoined : needsRebuild).push(member.name);
    }
    for (const name of onLostHosts) {
        onProgress(`${name} is on a host declared lost: left as it is; it rejoins as a standby of ${to.name} once its host is back and no longer declared lost`);
    }
    return { kind: planned ? "switchover" : "failover", from: from.name, to: to.name, checkpointLsn, rejoined, needsRebuild, onLostHosts, seconds: (Date.now() - started) / 1000 };
}

/** An LSN ("16/B374D848") as a byte position. */
function lsnBytes(lsn: string): bigint {
    const [high, low] = lsn.split("/");
    return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/** How far a standby has received WAL (streamed, or restored and replayed), or undefined when it does not answer as a standby. */
async function receivedLsn(loc: Upstream, password: string): Promise<string | undefined> {
    try {
        const sql = "SELECT CASE WHEN pg_is_in_recovery() THEN GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text END AS lsn";
        return (await withClient(superuser(loc, password), async (c) => (await c.query(sql)).rows[0].lsn)) ?? undefined;
    } catch {
        return undefined; // down, or gone meanwhile: it cannot be promoted instead anyway
    }
}

/** A standby among `others` that has received more of the gone primary's WAL than `to`: promoting `to` would lose what only it has. */
async function standbyAheadOf(to: Member, others: Member[], password: string): Promise<{ name: string; lsn: string; toLsn: string; bytes: bigint } | undefined> {
    const [toLsn, ...otherLsns] = await Promise.all([to, ...others].map((m) => receivedLsn(m.loc, password)));
    if (toLsn === undefined) {
        return undefined;
    }
    const ahead = others
        .map((m, i) => ({ name: m.name, lsn: otherLsns[i], toLsn, bytes: otherLsns[i] === undefined ? 0n : lsnBytes(otherLsns[i]!) - lsnBytes(toLsn) }))
        .filter((m): m is { name: string; lsn: string; toLsn: string; bytes: bigint } => m.lsn !== undefined && m.bytes > 0n)
        .sort((x, y) => (y.bytes > x.bytes ? 1 : y.bytes < x.bytes ? -1 : 0));
    return ahead[0];
}

/** The synchronous_standby_names value naming `names` (all must confirm), or "" for none. */
export function synchronousStandbyNames(names: string[]): string {
    return names.length === 0 ? "" : `FIRST ${names.length} (${names.map((n) => `"${n}"`).join(", ")})`;
}

/** Sets synchronous_standby_names on the primary (ALTER SYSTEM, so it follows the role, not a server's settings file). */
export async function applySynchronousNames(loc: ClusterLocation, password: string, names: string[]): Promise<void> {
    await withClient(superuser(loc, password), async (c) => {
        const value = synchronousStandbyNames(names);
        await c.query(value === "" ? "ALTER SYSTEM RESET synchronous_standby_names" : `ALTER SYSTEM SET synchronous_standby_names = ${c.escapeLiteral(value)}`);
        await c.query("SELECT pg_reload_conf()");
    });
}

export interface ReplicaState {
    /** pg_stat_replication.sync_state: "sync", "async", "potential", "quorum"; null when not connected. */
    syncState: string | null;
    state: string | null;
    lagBytes: number | null;
}

/** What the primary's pg_stat_replication says about each member, by application_name. */
export async function replicationStates(loc: Upstream, password: string): Promise<Record<string, ReplicaState>> {
    return withClient(superuser(loc, password), async (c) => {
        const { rows } = await c.query(
            "SELECT application_name, sync_state, state, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS lag FROM pg_stat_replication",
        );
        return Object.fromEntries(
            rows.map((r) => [r.application_name as string, { syncState: r.sync_state as string, state: r.state as string, lagBytes: r.lag == null ? null : Number(r.lag) }]),
        );
    });
}
