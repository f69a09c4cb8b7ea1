// A hot standby on this machine: a physical copy of the primary taken with pg_basebackup -R, kept
// current by streaming replication through a replication slot (so the primary never recycles WAL
// the standby still needs), read-only queries allowed. Plain Node (no Pulumi), plain functions.
import * as path from "path";
import * as cluster from "../../postgres/cluster";
import type { ClusterLocation } from "../../postgres/cluster";
import { writePgpass } from "../../copy/programs";
import { withClient } from "../../postgres/pg";
import { confValue } from "../../postgres/settingsFile";
import { waitUntil } from "../../postgres/poll";

export interface PrimaryEndpoint {
    host: string;
    port: number;
    superuserPassword: string;
}

export interface HotStandbySpec {
    /** The standby's name: its application_name on the primary (synchronous_standby_names matches it). */
    name: string;
    /** Where the standby lives and listens. */
    loc: ClusterLocation;
    primary: PrimaryEndpoint;
    /** Replication slot on the primary, one per standby. */
    slot: string;
    /** The standby's own postgresql.conf settings. */
    settings: Record<string, string>;
}

/** The standby keeps its primary's password in this file (mode 0600, its OS user's), named by primary_conninfo. */
export function primaryPassfileOf(loc: ClusterLocation): string {
    return path.join(loc.serverDir, "primary.pgpass");
}

function superuserConnection(primary: PrimaryEndpoint, database = "postgres") {
    return { host: primary.host, port: primary.port, user: cluster.SUPERUSER, password: primary.superuserPassword, database };
}

async function dropSlot(primary: PrimaryEndpoint, slot: string): Promise<void> {
    await withClient(superuserConnection(primary), async (c) => {
        // A slot still held by a walsender cannot be dropped: wait briefly (5 s) for the stopped standby to let go.
        await waitUntil(
            async () => {
                const { rows } = await c.query("SELECT active FROM pg_replication_slots WHERE slot_name = $1", [slot]);
                if (rows.length > 0 && !rows[0].active) {
                    await c.query("SELECT pg_drop_replication_slot($1)", [slot]);
                }
                return rows.length === 0 || !rows[0].active;
            },
            { timeoutMs: 5_000, intervalMs: 100, failure: `replication slot ${slot} on the primary is still in use; stop whatever streams from it and try again` },
        );
    });
}

/**
 * Takes the base backup (creating the slot), writes the standby's own settings, starts it in
 * continuous recovery and waits until it streams. Anything half-made is removed on failure.
 */
export async function createHotStandby(spec: HotStandbySpec, onProgress: (line: string) => void = () => undefined): Promise<void> {
    const { loc, primary, slot } = spec;
    const host = cluster.hostOfServer(loc);
    let slotCreated = false;
    try {
        host.makeFolder(loc.serverDir);
        cluster.assertServerUserCanReach(loc, loc.serverDir);
        await host.baseBackup(primary, { dataDir: cluster.dataDirOf(loc), workDir: loc.serverDir, slot, writeRecoveryConf: true, onProgress });
        slotCreated = true;
        // pg_basebackup -R names no application_name: ours lets the primary list the standby as synchronous.
        configureStandby({ name: spec.name, loc }, primary, primary.superuserPassword);
        // The copy carries the primary's own settings file: the standby listens on its own port.
        cluster.writeSettings(loc, { ...spec.settings, hot_standby: "on", hot_standby_feedback: "on" });
        cluster.ensureHba(loc); // and admits its own host's peers, not the primary's
        cluster.startCluster(loc);
        await waitUntilStreaming(spec);
    } catch (err) {
        try {
            cluster.stopCluster(loc);
        } catch {
            // never started
        }
        if (slotCreated) {
            await dropSlot(primary, slot).catch(() => undefined);
        }
        host.remove(loc.serverDir);
        throw err;
    }
}

async function waitUntilStreaming(spec: HotStandbySpec): Promise<void> {
    await waitUntil(async () => (await standbyStatus(spec).catch(() => undefined))?.streaming, {
        timeoutMs: 60_000,
        intervalMs: 200,
        failure: `standby on port ${spec.loc.port} did not start streaming from ${spec.primary.host}:${spec.primary.port} within 60 s`,
    });
}

export interface StandbyStatus {
    running: boolean;
    /** In continuous recovery, as a standby must be. */
    inRecovery: boolean;
    /** The primary has an active walsender on the standby's slot. */
    streaming: boolean;
    /** WAL the standby has not replayed yet, in bytes (primary's current position minus the slot's). */
    lagBytes: number | null;
}

/** What the standby and the primary say about the replication. */
export async function standbyStatus(spec: HotStandbySpec): Promise<StandbyStatus> {
    const running = cluster.clusterStatus(spec.loc) === "running";
    const inRecovery = running
        ? await withClient({ ...superuserConnection(spec.primary), host: spec.loc.host, port: spec.loc.port }, async (c) =>
              Boolean((await c.query("SELECT pg_is_in_recovery() AS r")).rows[0].r),
          )
        : false;
    const slot = await withClient(superuserConnection(spec.primary), async (c) => {
        const { rows } = await c.query(
            "SELECT active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS lag FROM pg_replication_slots WHERE slot_name = $1",
            [spec.slot],
        );
        return rows[0] as { active: boolean; lag: string | null } | undefined;
    });
    return { running, inRecovery, streaming: Boolean(slot?.active), lagBytes: slot?.lag == null ? null : Number(slot.lag) };
}

/** Stops the standby, drops its slot on the primary (so the primary stops keeping WAL for it) and removes its folder. */
export async function removeHotStandby(spec: HotStandbySpec, log: (line: string) => void = console.log): Promise<void> {
    cluster.stopCluster(spec.loc);
    // A standby that acts as the primary (after a failover) holds the others' slots itself: they go with it.
    const actsAsPrimary = spec.primary.host === spec.loc.host && spec.primary.port === spec.loc.port;
    if (!actsAsPrimary) {
        try {
            await dropSlot(spec.primary, spec.slot);
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== "ECONNREFUSED") {
                throw err;
            }
            // The primary is down too (a teardown): the standby still goes; its slot is named for whoever brings the primary back.
            log(
                `standby ${spec.name}: the primary ${spec.primary.host}:${spec.primary.port} is not running, so its replication slot ${spec.slot} stays there; ` +
                    `once it runs, drop it with SELECT pg_drop_replication_slot('${spec.slot}') so it keeps no WAL for this standby`,
            );
        }
    }
    cluster.hostOfServer(spec.loc).remove(spec.loc.serverDir);
}

/** One member of the group: where it lives, and its name (its application_name and slot name). */
export interface Member {
    name: string;
    loc: ClusterLocation;
}

/** Where a standby streams from. */
export interface Upstream {
    host: string;
    port: number;
}

/** The replication slot of a member on whichever member is primary. */
export function slotOf(memberName: string): string {
    return `stagewise_${memberName.replace(/-/g, "_")}`;
}

/** A libpq keyword value, quoted. */
export function conninfoValue(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** The primary_conninfo of `member` streaming from `upstream` (its name is its application_name). */
export function primaryConninfo(member: Member, upstream: Upstream): string {
    return [
        `host=${conninfoValue(upstream.host)}`,
        `port=${upstream.port}`,
        `user=${cluster.SUPERUSER}`,
        `passfile=${conninfoValue(primaryPassfileOf(member.loc))}`,
        `application_name=${conninfoValue(member.name)}`,
    ].join(" ");
}

/**
 * Points `member` at `upstream`: the password file, primary_conninfo and primary_slot_name in
 * postgresql.auto.conf (other lines there are kept), and standby.signal. A running member picks the
 * new upstream up on reload (both settings are reloadable).
 */
export function configureStandby(member: Member, upstream: Upstream, password: string): void {
    const { loc } = member;
    writePgpass(loc, primaryPassfileOf(loc), { host: upstream.host, port: upstream.port, superuserPassword: password });
    const dataDir = cluster.dataDirOf(loc);
    const autoConf = path.join(dataDir, "postgresql.auto.conf");
    const host = cluster.hostOfServer(loc);
    const kept = host.exists(autoConf)
        ? host.readText(autoConf).split("\n").filter((l) => l.trim() !== "" && !/^\s*(primary_conninfo|primary_slot_name)\s*=/.test(l))
        : ["# Do not edit this file manually!", "# It will be overwritten by the ALTER SYSTEM command."];
    const text = [...kept, `primary_conninfo = ${confValue(primaryConninfo(member, upstream))}`, `primary_slot_name = ${confValue(slotOf(member.name))}`, ""].join("\n");
    cluster.writeOwnedFile(loc, autoConf, text);
    cluster.writeOwnedFile(loc, path.join(dataDir, "standby.signal"), "");
}

/** Whether the member's data directory is set up as a standby (it can only start read-only). */
export function hasStandbySignal(loc: ClusterLocation): boolean {
    return cluster.hostOfServer(loc).exists(path.join(cluster.dataDirOf(loc), "standby.signal"));
}

