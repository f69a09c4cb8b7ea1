// DisasterRecoveryServer: the DR site's database server, named like production's. Before cutover it
// stands by — warm: restored from the newest base backup and in continuous recovery (standby.signal),
// applying shipped WAL older than the apply delay; cold: no server at all, only base backups and
// shipped WAL. Setting a cutover target recovers it to that one instant and promotes it
// (dr/cutover.ts); a cutover is made once and never silently redone.
import * as cluster from "../postgres/cluster";
import { withClient } from "../postgres/pg";
import { assertPortFree } from "../platform/ports";
import { SourceServer } from "../backup/pitrBackups";
import { RecoveryTarget, WarmServerRequest, createWarmServer, warmSettings } from "../backup/restore";
import * as cutover from "./cutover";
import type { CutoverReport } from "./cutover";
import type { ArchiveSource } from "../shipping/shipper";
import { machineMoved, sameData } from "../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";
import type { ServerLocationArgs } from "../server/location";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "2";

export interface DrServerArgs extends ServerLocationArgs, ArgsOf<Omit<DrInputs, keyof cluster.ClusterLocation>> {}

/** The resolved inputs, the server's location among them. */
export interface DrInputs extends cluster.ClusterLocation {
    serverName: string;
    tier: "warm" | "cold";
    backupsDir: string;
    /** The DR site's shipped WAL. */
    incoming: string;
    /** Where segments copied from production's pg_wal go at cutover. */
    tailFolder: string;
    /** Production's archive folder. */
    archive: string;
    /** Production's server (a secret: its superuser password is the restored cluster's). */
    production: SourceServer;
    /** Production's data directory, for the tail of the log when production does not answer ("" when unknown). */
    productionDataDir: string;
    /** warm: recovery_min_apply_delay in seconds. */
    applyDelaySeconds: number;
    /** The cutover target, or null while standing by. */
    cutover: RecoveryTarget | null;
    /** On another machine than production's archive: the site's shipper state folder, for the cutover's last shipment. @default "" (the archive is a folder here) */
    shipperDir?: string;
    /** Production's members on several machines: the cutover's last shipment reads the one accepting writes. @default production */
    archiveSources?: ArchiveSource[];
    providerVersion: string;
}

export interface DrOutputs extends DrInputs {
    state: "standing by" | "cut over";
    running: boolean;
    inRecovery: boolean;
    /** warm: the commit time of the last transaction applied so far. */
    replayedTo: string | null;
    report: CutoverReport | null;
    serverVersion: string;
    systemIdentifier: string;
    startedAt: string;
}

function locOf(props: DrInputs): cluster.ClusterLocation {
    return cluster.locationOf(props);
}

function warmRequest(props: DrInputs): WarmServerRequest {
    return { backupsDir: props.backupsDir, walFolders: [props.incoming], loc: locOf(props), minApplyDelay: `${props.applyDelaySeconds}s` };
}

async function observed(props: DrInputs, report: CutoverReport | null): Promise<DrOutputs> {
    const loc = locOf(props);
    const running = cluster.clusterStatus(loc) === "running";
    const base = { ...props, state: report ? ("cut over" as const) : ("standing by" as const), running, inRecovery: false, replayedTo: null, report, serverVersion: "", systemIdentifier: "", startedAt: "" };
    if (!running) {
        return base;
    }
    const connection = { host: props.host, port: props.port, user: cluster.SUPERUSER, password: props.production.superuserPassword, database: "postgres", connectionTimeoutMillis: 5_000 };
    return withClient(connection, async (c) => {
        const { rows } = await c.query(
            `SELECT pg_is_in_recovery() AS r, pg_last_xact_replay_timestamp() AS replayed, pg_postmaster_start_time()::text AS started,
                    (SELECT system_identifier::text FROM pg_control_system()) AS sysid, current_setting('server_version') AS version`,
        );
        const row = rows[0];
        return { ...base, inRecovery: row.r, replayedTo: row.replayed ? (row.replayed as Date).toISOString() : null, startedAt: row.started, systemIdentifier: row.sysid, serverVersion: row.version };
    }).catch(() => base);
}

async function cutOver(props: DrInputs): Promise<CutoverReport> {
    return cutover.cutOver({
        target: props.cutover!,
        production: props.production,
        productionDataDir: props.productionDataDir || undefined,
        archive: props.archive,
        incoming: props.incoming,
        tailFolder: props.tailFolder,
        backupsDir: props.backupsDir,
        loc: locOf(props),
        superuserPassword: props.production.superuserPassword,
        standingBy: props.tier === "warm" ? warmRequest(props) : undefined,
        ...(props.machine && props.shipperDir ? { pulledFrom: { stateDir: props.shipperDir, binDir: props.binDir, sources: props.archiveSources } } : {}),
        onProgress: (line) => console.log(`cutover of ${props.serverName}: ${line}`),
    });
}

const drServerMethods: CrudMethods<DrInputs, DrOutputs> = {
    async create(inputs) {
        const host = cluster.hostOfServer(locOf(inputs));
        if (host.exists(inputs.serverDir) && host.list(inputs.serverDir).length > 0) {
            throw new Error(`${inputs.serverDir} already exists and is not this DR server; refusing to overwrite or delete it (move it away, or choose another data root)`);
        }
        await assertPortFree(inputs.host, inputs.port, `servers.${inputs.serverName}.port`, `DR server ${inputs.serverName}`, undefined, cluster.remoteProbe(locOf(inputs)));
        if (inputs.tier === "warm") {
            const backup = createWarmServer(warmRequest(inputs));
            console.log(`warm server ${inputs.serverName} standing by: restored base backup ${backup.id}, applying shipped WAL older than ${inputs.applyDelaySeconds} s`);
        }
        const report = inputs.cutover ? await cutOver(inputs) : null;
        return { id: inputs.serverDir, outs: await observed(inputs, report) };
    },
    async read(id, props) {
        return props === undefined ? {} : { id, props: await observed(props, cutover.previousCutover(props.serverDir, props.machine) ?? null) };
    },
    async update(_id, olds, news) {
        const done = cutover.previousCutover(news.serverDir, news.machine);
        if (done !== undefined && !sameData(olds.cutover, news.cutover)) {
            throw new Error(
                `this DR site was already cut over (to ${done.target}, promoted at ${done.promotedAt}); it is production now and is not recovered again. ` +
                    `Put the cutover configuration back as it was, or rehearse on a fresh DR stack`,
            );
        }
        const loc = locOf(news);
        if (done === undefined && news.cutover) {
            return { outs: await observed(news, await cutOver(news)) };
        }
        if (done === undefined && news.tier === "warm" && olds.applyDelaySeconds !== news.applyDelaySeconds) {
            cluster.writeCopySettings(loc, warmSettings(warmRequest(news)));
            cluster.stopCluster(loc); // recovery settings need a restart
        }
        if ((done !== undefined || news.tier === "warm") && cluster.clusterStatus(loc) !== "running") {
            cluster.startCluster(loc);
        }
        return { outs: await observed(news, done ?? null) };
    },
    async delete(_id, props) {
        const host = cluster.hostOfServer(locOf(props));
        if (host.exists(props.serverDir)) {
            cluster.stopCluster(locOf(props));
        }
        host.remove(props.serverDir);
    },
};

export const drServer = defineResource<DrInputs, DrOutputs>(
    {
        module: "stagewise", type: "DisasterRecoveryServer", version: PROVIDER_VERSION,
        replaces: ["serverDir", "port", "osUser", "tier"],
        updates: ["cutover", "applyDelaySeconds", "machine"],
        // Drift: a warm server (or a promoted one) that stopped shows in preview; up starts it again.
        diffRules: (olds, news) => {
            const shouldRun = cutover.previousCutover(olds.serverDir, news.machine) !== undefined || olds.tier === "warm";
            return {
                changed: shouldRun && cluster.clusterStatus({ ...locOf(olds), ...(news.machine ? { machine: news.machine } : {}) }) !== "running" ? ["running"] : [],
                replaced: machineMoved(olds.machine, news.machine) ? ["machine"] : [],
            };
        },
        deleteBeforeReplace: true,
        secretInputs: ["production", "machine"],
        secretOutputs: ["machine"],
        outputs: ["osUser", "state", "running", "inRecovery", "replayedTo", "report", "serverVersion", "systemIdentifier", "startedAt"],
    },
    drServerMethods,
);

/** The DR site's server: standing by (warm or cold) until cutover, then the promoted primary. */
export class DisasterRecoveryServer extends declaredClass<DrServerArgs, DrOutputs, "state" | "running" | "inRecovery" | "replayedTo" | "report" | "serverVersion" | "systemIdentifier" | "startedAt">(drServer) {}
