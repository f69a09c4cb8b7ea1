// A warm standby on this machine: a physical copy of the primary (pg_basebackup -X stream, without
// -R: no streaming connection, no slot) kept in continuous recovery from the WAL shipped into its
// incoming folder, applying it after `recovery_min_apply_delay`, and moving what it has applied into
// its applied folder (the settings come from shipping/schedule.ts). hot_standby is on so its progress
// can be read. Plain Node (no Pulumi), plain functions.
import * as path from "path";
import * as cluster from "../../postgres/cluster";
import type { ClusterLocation } from "../../postgres/cluster";
import { withClient } from "../../postgres/pg";
import type { PrimaryEndpoint } from "../hot/replication";

export interface WarmStandbySpec {
    /** Where the standby lives and listens. */
    loc: ClusterLocation;
    /** The primary the base backup is taken from (only then: the standby never connects to it again). */
    primary: PrimaryEndpoint;
    /** restore_command, recovery_min_apply_delay, archive_cleanup_command, ... and the user's own settings. */
    settings: Record<string, string>;
}

/** The settings the standby always runs with, before the given ones. */
export function warmSettings(settings: Record<string, string>): Record<string, string> {
    return { ...settings, hot_standby: "on" };
}

/**
 * Takes the base backup, writes the standby's settings and standby.signal, starts it in continuous
 * recovery and waits until it accepts read-only connections. Anything half-made is removed on failure.
 */
export async function createWarmStandby(spec: WarmStandbySpec, onProgress: (line: string) => void = () => undefined): Promise<void> {
    const { loc, primary } = spec;
    const dataDir = cluster.dataDirOf(loc);
    const host = cluster.hostOfServer(loc);
    try {
        host.makeFolder(loc.serverDir);
        cluster.assertServerUserCanReach(loc, loc.serverDir);
        await host.baseBackup(primary, { dataDir, workDir: loc.serverDir, onProgress });
        // The copy carries the primary's own settings file (its port, its archiving): replaced whole.
        cluster.writeCopySettings(loc, warmSettings(spec.settings));
        cluster.writeOwnedFile(loc, path.join(dataDir, "standby.signal"), "");
        cluster.startCluster(loc);
    } catch (err) {
        try {
            cluster.stopCluster(loc);
        } catch {
            // never started
        }
        host.remove(loc.serverDir);
        throw err;
    }
}

export interface WarmStandbyStatus {
    running: boolean;
    /** In continuous recovery, as a warm standby must be. */
    inRecovery: boolean;
    /** Commit time of the last transaction it applied (ISO), or null before the first. */
    lastReplayedAt: string | null;
    /** Seconds between now and that commit, as the standby's clock says; null before the first. */
    lagSeconds: number | null;
}

/** What the standby says about its recovery. */
export async function warmStandbyStatus(spec: WarmStandbySpec): Promise<WarmStandbyStatus> {
    if (cluster.clusterStatus(spec.loc) !== "running") {
        return { running: false, inRecovery: false, lastReplayedAt: null, lagSeconds: null };
    }
    const connection = { host: spec.loc.host, port: spec.loc.port, user: cluster.SUPERUSER, password: spec.primary.superuserPassword, database: "postgres" };
    const row = await withClient(connection, async (c) => {
        const { rows } = await c.query(
            `SELECT pg_is_in_recovery() AS r, pg_last_xact_replay_timestamp() AS t,
                    extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS lag`,
        );
        return rows[0] as { r: boolean; t: Date | null; lag: number | null };
    });
    return {
        running: true,
        inRecovery: row.r,
        lastReplayedAt: row.t === null ? null : row.t.toISOString(),
        lagSeconds: row.lag === null ? null : Math.max(0, Math.round(row.lag * 10) / 10),
    };
}

/** Stops the standby and removes its folder. The primary keeps nothing for it (no slot). */
export function removeWarmStandby(spec: WarmStandbySpec): void {
    cluster.stopCluster(spec.loc);
    cluster.hostOfServer(spec.loc).remove(spec.loc.serverDir);
}
