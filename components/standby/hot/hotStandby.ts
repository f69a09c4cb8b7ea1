// HotStandby: a streaming-replication standby of a production server (standby/hot/replication.ts), with a
// replication slot on the primary so it never misses WAL, read-only queries allowed. It is told its
// declared role and never changes roles itself (PrimaryRole does): a declared standby follows the
// declared primary, and a standby declared primary is healthy when it accepts writes.
import * as cluster from "../../postgres/cluster";
import { withClient } from "../../postgres/pg";
import { assertPortFree } from "../../platform/ports";
import * as standby from "./replication";
import * as switchover from "./switchover";
import { endpointMoved, machineMoved, sameData } from "../../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../../providers/kit";
import type { ServerLocationArgs } from "../../server/location";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "3"; // 3: removing a standby that acts as the primary drops no slot on itself

export interface HotStandbyArgs extends ServerLocationArgs, ArgsOf<Omit<StandbyInputs, keyof cluster.ClusterLocation>, "role" | "synchronous" | "settings"> {}

/** The resolved inputs, the server's location among them. */
export interface StandbyInputs extends cluster.ClusterLocation {
    /** The standby's stable name. */
    standbyName: string;
    /** The declared primary of the group, which it streams from (a secret: it carries the superuser password replication uses). */
    primary: standby.PrimaryEndpoint;
    /** postgresql.conf settings of the standby. @default {} */
    settings: Record<string, string>;
    /** Its declared role: "primary" once `primary` names it. @default "standby" */
    role: "primary" | "standby";
    /** Declared synchronous: its sync state is awaited and reported. @default false */
    synchronous: boolean;
    providerVersion: string;
}

export interface StandbyOutputs extends StandbyInputs {
    slot: string;
    running: boolean;
    inRecovery: boolean;
    streaming: boolean;
    /** WAL not yet replayed by the standby when last looked at, in bytes. */
    lagBytes: number | null;
    /** pg_stat_replication.sync_state on the primary ("sync", "async", ...); null when not streaming or primary. */
    syncState: string | null;
}

function specOf(props: StandbyInputs): standby.HotStandbySpec {
    return {
        name: props.standbyName,
        loc: cluster.locationOf(props),
        primary: props.primary,
        slot: standby.slotOf(props.standbyName),
        settings: props.settings,
    };
}

function standbySettings(props: StandbyInputs): Record<string, string> {
    return { ...props.settings, hot_standby: "on", hot_standby_feedback: "on" };
}

async function observed(props: StandbyInputs): Promise<StandbyOutputs> {
    const spec = specOf(props);
    if (props.role === "primary") {
        const running = switchover.acceptsConnections(spec.loc);
        const inRecovery = running && (await switchover.inRecovery(spec.loc, props.primary.superuserPassword));
        return { ...props, slot: spec.slot, running, inRecovery, streaming: false, lagBytes: null, syncState: null };
    }
    // A synchronous standby shows "sync" once it has caught up: wait briefly for that.
    for (let i = 0; ; i++) {
        const status = await standby.standbyStatus(spec);
        const replica = status.streaming ? (await switchover.replicationStates(props.primary, props.primary.superuserPassword))[props.standbyName] : undefined;
        const syncState = replica?.syncState ?? null;
        if (!props.synchronous || syncState === "sync" || i >= 50) {
            return { ...props, slot: spec.slot, ...status, syncState };
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

/** Whether it is what its declared role asks for: a primary accepting writes, or a standby streaming from the declared primary. */
async function healthy(props: StandbyInputs): Promise<boolean> {
    const spec = specOf(props);
    if (props.role === "primary") {
        return switchover.acceptsConnections(spec.loc) && !(await switchover.inRecovery(spec.loc, props.primary.superuserPassword));
    }
    const live = await standby.standbyStatus(spec);
    return live.running && live.streaming;
}

/**
 * Brings a declared standby to its declared upstream: a running one is re-pointed (reload); a stopped
 * one starts only as a standby; a former primary (no standby.signal) rejoins through pg_rewind once
 * the declared primary accepts writes, and otherwise stays stopped — never started writable.
 */
async function followDeclaredPrimary(olds: StandbyInputs | undefined, news: StandbyInputs): Promise<void> {
    const spec = specOf(news);
    const member = { name: news.standbyName, loc: spec.loc };
    const password = news.primary.superuserPassword;
    const log = (line: string) => console.log(`standby ${news.standbyName}: ${line}`);
    const moved = olds !== undefined && (olds.primary.host !== news.primary.host || olds.primary.port !== news.primary.port);
    if (cluster.clusterStatus(spec.loc) === "running") {
        if (!(await switchover.inRecovery(spec.loc, password))) {
            log("still writable although declared a standby; the role change is PrimaryRole's to make");
            return;
        }
        const conninfo = await withClient({ host: spec.loc.host, port: spec.loc.port, user: cluster.SUPERUSER, password, database: "postgres" }, async (c) =>
            String((await c.query("SELECT current_setting('primary_conninfo') AS v")).rows[0].v),
        );
        const outdated = conninfo !== standby.primaryConninfo(member, news.primary); // e.g. made before application_name was set
        if (moved || outdated || !(await standby.standbyStatus(spec)).streaming) {
            standby.configureStandby(member, news.primary, password);
            await cluster.applySettings(spec.loc, password, standbySettings(news));
            await switchover.waitUntilStreaming(member, news.primary, password).catch(async () => {
                log("does not stream after a reload; rejoining");
                await switchover.rejoinAsStandby(member, news.primary, password, { rewind: false, onProgress: log, staleSlots: [] });
            });
        }
        return;
    }
    const upstreamWritable = (await switchover.roleOf(news.primary, password)) === "primary";
    if (standby.hasStandbySignal(spec.loc)) {
        standby.configureStandby(member, news.primary, password);
        cluster.writeSettings(spec.loc, standbySettings(news));
        cluster.startCluster(spec.loc);
    } else if (upstreamWritable) {
        await switchover.rejoinAsStandby(member, news.primary, password, { rewind: true, onProgress: log, staleSlots: [] });
    } else {
        log("stopped, and it was a primary: it stays stopped until the declared primary accepts writes (then it rejoins with pg_rewind)");
    }
}

const hotStandbyMethods: CrudMethods<StandbyInputs, StandbyOutputs> = {
    async create(inputs) {
        const spec = specOf(inputs);
        const host = cluster.hostOfServer(spec.loc);
        if (host.exists(inputs.serverDir) && host.list(inputs.serverDir).length > 0) {
            throw new Error(`${inputs.serverDir} already exists and is not this standby; refusing to overwrite or delete it (move it away, or choose another data root)`);
        }
        await assertPortFree(inputs.host, inputs.port, `standbys.${inputs.standbyName}.port`, `standby ${inputs.standbyName}`, undefined, cluster.remoteProbe(inputs));
        // The engine shows a dynamic provider's output lines as they come: pg_basebackup's progress.
        await standby.createHotStandby(spec, (line) => console.log(`standby ${inputs.standbyName}: ${line}`));
        return { id: inputs.serverDir, outs: await observed(inputs) };
    },
    async read(id, props) {
        if (props === undefined || cluster.clusterStatus(specOf(props).loc) === "missing") {
            return {};
        }
        return { id, props: await observed({ ...props, role: props.role ?? "standby", synchronous: props.synchronous ?? false }).catch(() => ({ ...props, running: false, streaming: false })) };
    },
    async update(_id, olds, news) {
        const spec = specOf(news);
        cluster.ensureHba(spec.loc); // its host's admitted networks may have changed
        if (news.role === "primary") {
            if (cluster.clusterStatus(spec.loc) !== "running") {
                cluster.writeSettings(spec.loc, standbySettings(news));
                cluster.startCluster(spec.loc);
            }
        } else {
            await followDeclaredPrimary(olds.primary ? olds : undefined, news);
        }
        if (cluster.clusterStatus(spec.loc) === "running" && !sameData(olds.settings, news.settings)) {
            await cluster.applySettings(spec.loc, news.primary.superuserPassword, standbySettings(news));
        }
        return { outs: await observed(news) };
    },
    async delete(_id, props) {
        await standby.removeHotStandby(specOf(props));
    },
};

export const hotStandby = defineResource<StandbyInputs, StandbyOutputs>(
    {
        module: "stagewise", type: "HotStandby", version: PROVIDER_VERSION,
        defaults: { settings: {}, role: "standby", synchronous: false },
        replaces: ["serverDir", "port", "standbyName", "osUser"],
        updates: ["role", "synchronous", "settings", "machine"],
        diffRules: async (olds, news) => {
            // A new declared primary is followed (re-pointed), not rebuilt.
            const primaryMoved = endpointMoved(olds.primary, news.primary);
            // Drift: a standby that stopped or stopped streaming, or a declared primary not accepting writes,
            // shows in every preview; `up` brings it back in its declared role.
            const drifted = !(await healthy({ ...olds, role: news.role ?? olds.role ?? "standby" }).catch(() => false));
            return { changed: [...(primaryMoved ? ["primary"] : []), ...(drifted ? ["running"] : [])], replaced: machineMoved(olds.machine, news.machine) ? ["machine"] : [] };
        },
        deleteBeforeReplace: true,
        secretInputs: ["primary", "machine"],
        secretOutputs: ["machine"],
        outputs: ["osUser", "slot", "running", "inRecovery", "streaming", "lagBytes", "syncState"],
    },
    hotStandbyMethods,
);

/** A hot standby of a production server. */
export class HotStandby extends declaredClass<HotStandbyArgs, StandbyOutputs, "host" | "port" | "slot" | "running" | "streaming" | "lagBytes" | "syncState">(hotStandby) {}
