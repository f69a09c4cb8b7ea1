// LogShippingJob: production's log shipping as a resource. For each receiving standby it keeps a
// folder `incoming/` (where shipped WAL lands), `applied/` (where the standby moves what it applied)
// and `state/` (the shipper's pid, status and markers), and runs one shipper (shipping/shipper.ts)
// from production's archive into `incoming/`. It reads the primary's archiver too, so `refresh`
// shows a failing archive command. Drift: a dead shipper shows in preview, and `up` starts it again.
// Delete stops the shippers and removes the receivers' folders, never production's archive.
import * as path from "path";
import * as shipping from "./shipper";
import type { PrimaryEndpoint } from "../standby/hot/replication";
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { changedKnown } from "../providers/diffs";
import { absolutePath, ArgsOf, CrudMethods, declaredClass, defineResource, rule } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface LogShippingJobArgs extends ArgsOf<JobInputs> {}

export interface JobInputs {
    /** Folder production's primary archives WAL into. */
    archive: string;
    /** Folder holding one sub-folder per receiver. */
    receiversDir: string;
    /** Names of the receiving standbys. */
    receivers: string[];
    /** Time between two shipping runs, in milliseconds. */
    shipIntervalMs: number;
    /** The primary, whose pg_stat_archiver is read (a secret: it carries the superuser password). */
    primary: PrimaryEndpoint;
    /** OS user the shippers run as (the servers' user, when deploying as root). */
    osUser?: string;
    /**
     * Receivers on other machines, by name: their folder of receivers there, and who runs their
     * shipper (a secret: the machine holds the private key). They read the archive through the
     * primary's PostgreSQL. @default none
     */
    receiverPlaces?: Record<string, ReceiverPlace>;
    /**
     * Production's members on other machines that may act as the primary, the declared one first: each
     * archives into `archive` on its own host, and the shippers and the archiver's check follow
     * whichever accepts writes. @default only `primary`
     */
    archiveSources?: shipping.ArchiveSource[];
    providerVersion: string;
}

/** Where a receiver on another machine keeps its shipped WAL, and its programs and user there. */
export interface ReceiverPlace {
    receiversDir: string;
    machine: RemoteMachine;
    binDir: string;
    osUser: string;
}

interface ReceiverState {
    running: boolean;
    lastRunAt: string | null;
    newestShipped: string | null;
    newestShippedArchivedAt: string | null;
    lastError: string | null;
}

export interface JobOutputs extends JobInputs {
    /** The primary's last archive attempt failed (pg_stat_archiver). */
    archiveFailing: boolean;
    /** Which WAL file, since when, and what to check; null while archiving works. */
    lastArchiveError: string | null;
    receiverStates: Record<string, ReceiverState>;
    /** Seconds since the newest log every receiver has was archived (the worst receiver); null before the first. */
    newestShippedLogAgeSeconds: number | null;
}

/** The folders of one receiver. */
export function receiverFolders(receiversDir: string, name: string): { incoming: string; applied: string; state: string } {
    const root = path.join(receiversDir, name);
    return { incoming: path.join(root, "incoming"), applied: path.join(root, "applied"), state: path.join(root, "state") };
}

function shipperSpec(props: JobInputs, name: string): shipping.ShipperSpec & { applied: string } {
    const place = props.receiverPlaces?.[name];
    const folders = receiverFolders(place?.receiversDir ?? props.receiversDir, name);
    const common = { from: props.archive, to: folders.incoming, applied: folders.applied, intervalMs: props.shipIntervalMs, stateDir: folders.state };
    return place === undefined
        ? { ...common, osUser: props.osUser }
        : { ...common, osUser: place.osUser, machine: place.machine, pull: { primary: props.primary, binDir: place.binDir, sources: props.archiveSources } };
}

/** Age of the newest log every receiver has (the worst receiver's), in whole seconds. */
export function newestShippedAge(states: ReceiverState[], now = Date.now()): number | null {
    if (states.length === 0 || states.some((s) => s.newestShippedArchivedAt === null)) {
        return null;
    }
    return Math.max(...states.map((s) => Math.max(0, Math.round((now - Date.parse(s.newestShippedArchivedAt!)) / 1000))));
}

async function observed(props: JobInputs, previous?: JobOutputs): Promise<JobOutputs> {
    const receiverStates = Object.fromEntries(
        props.receivers.map((name) => {
            const spec = shipperSpec(props, name);
            const { pid: _pid, ...status } = shipping.shipperStatus(spec.stateDir, spec.machine);
            return [name, status];
        }),
    );
    // An unreachable primary says nothing about its archiver: keep what was last seen.
    const archiver = await shipping.actingArchiverStatus(props.archiveSources ?? [props.primary], props.primary.superuserPassword);
    return {
        ...props,
        archiveFailing: archiver?.failing ?? previous?.archiveFailing ?? false,
        lastArchiveError: archiver ? archiver.lastError : (previous?.lastArchiveError ?? null),
        receiverStates,
        newestShippedLogAgeSeconds: newestShippedAge(Object.values(receiverStates)),
    };
}

async function startAll(props: JobInputs): Promise<void> {
    for (const name of props.receivers) {
        const spec = shipperSpec(props, name);
        shipping.ensureFolder(spec.applied, spec.osUser, 0o700, spec.machine);
        shipping.startShipper(spec);
    }
    // The first run starts at once: wait for it so the outputs say what was shipped.
    await Promise.all(
        props.receivers.map((name) => {
            const spec = shipperSpec(props, name);
            return shipping.waitForShippingRun(spec.stateDir, 30_000, spec.machine).catch(() => undefined);
        }),
    );
}

async function removeReceiver(props: JobInputs, name: string): Promise<void> {
    const spec = shipperSpec(props, name);
    await shipping.stopShipper(spec.stateDir, spec.machine);
    const place = props.receiverPlaces?.[name];
    hostOf({ binDir: "", osUser: spec.osUser, machine: spec.machine }).remove(path.join(place?.receiversDir ?? props.receiversDir, name));
}

const logShippingJobMethods: CrudMethods<JobInputs, JobOutputs> = {
    async create(inputs) {
        shipping.ensureFolder(inputs.receiversDir, inputs.osUser);
        await startAll(inputs);
        return { id: inputs.receiversDir, outs: await observed(inputs) };
    },
    async read(id, props) {
        if (props === undefined) {
            return {};
        }
        return { id, props: await observed(props, props) };
    },
    async update(_id, olds, news) {
        // A receiver gone, or moved to another machine or folder: its old shipper and folders go.
        const placeOf = (props: JobInputs, name: string) => {
            const spec = shipperSpec(props, name);
            return JSON.stringify([spec.stateDir, spec.machine?.address, spec.machine?.port]);
        };
        for (const name of olds.receivers.filter((n) => !news.receivers.includes(n) || placeOf(olds, n) !== placeOf(news, n))) {
            await removeReceiver(olds, name);
        }
        // A new archive, interval, user or set of sources: the shippers start again with it (their markers stay).
        if (changedKnown(olds, news, ["archive", "shipIntervalMs", "osUser", "archiveSources"] as const).length > 0) {
            for (const name of olds.receivers) {
                const spec = shipperSpec(olds, name);
                await shipping.stopShipper(spec.stateDir, spec.machine);
            }
        }
        shipping.ensureFolder(news.receiversDir, news.osUser);
        await startAll(news);
        return { outs: await observed(news, olds as JobOutputs) };
    },
    async delete(_id, props) {
        for (const name of props.receivers) {
            await removeReceiver(props, name);
        }
        // Only the receivers' folder goes when empty; production's archive is not touched.
        hostOf({ binDir: "", osUser: props.osUser }).removeIfEmpty(props.receiversDir);
    },
};

export const logShippingJob = defineResource<JobInputs, JobOutputs>(
    {
        module: "stagewise", type: "LogShippingJob", version: PROVIDER_VERSION,
        schema: (z) =>
            z.looseObject({
                archive: absolutePath(z),
                receiversDir: absolutePath(z),
                shipIntervalMs: rule(
                    z,
                    (ms) => typeof ms !== "number" || ms >= 1_000,
                    (ms) => `${ms} ms is below 1 s`,
                ),
            }),
        replaces: ["receiversDir"],
        // A new superuser password in `primary`: the state must carry it, or reads of the archiver stop working.
        updates: ["archive", "shipIntervalMs", "osUser", "receivers", "primary", "receiverPlaces", "archiveSources"],
        // Drift: a shipper that died shows in every preview; `up` starts it again.
        diffRules: (olds) => ({
            changed: olds.receivers
                .filter((name) => {
                    const spec = shipperSpec(olds, name);
                    return !shipping.shipperStatus(spec.stateDir, spec.machine).running;
                })
                .map((name) => `receiverStates.${name}`),
        }),
        deleteBeforeReplace: true,
        secretInputs: ["primary", "receiverPlaces"],
        outputs: ["osUser", "archiveFailing", "lastArchiveError", "receiverStates", "newestShippedLogAgeSeconds"],
    },
    logShippingJobMethods,
);

/** Production's log shipping: one shipper per receiving standby, and the archiver's health. */
export class LogShippingJob extends declaredClass<LogShippingJobArgs, JobOutputs, "archiveFailing" | "lastArchiveError" | "receiverStates" | "newestShippedLogAgeSeconds">(logShippingJob) {}
