// WarmStandby: a server in continuous recovery from the WAL production ships into its incoming
// folder (standby/warm/warmReplay.ts), applying it after its apply delay. It never connects to the
// primary after its base backup. Drift: a stopped standby shows in preview, and `up` starts it.
import * as cluster from "../../postgres/cluster";
import { assertPortFree } from "../../platform/ports";
import type { PrimaryEndpoint } from "../hot/replication";
import * as warm from "./warmReplay";
import { endpointMoved, machineMoved, sameData } from "../../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../../providers/kit";
import type { ServerLocationArgs } from "../../server/location";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface WarmStandbyArgs extends ServerLocationArgs, ArgsOf<Omit<WarmInputs, keyof cluster.ClusterLocation>> {}

/** The resolved inputs, the server's location among them. */
export interface WarmInputs extends cluster.ClusterLocation {
    /** The standby's stable name. */
    standbyName: string;
    /** The primary its base backup is taken from (a secret: it carries the superuser password). */
    primary: PrimaryEndpoint;
    /** postgresql.conf settings: the shipping ones (restore_command, recovery_min_apply_delay, ...) and the user's. */
    settings: Record<string, string>;
    providerVersion: string;
}

export interface WarmOutputs extends WarmInputs, warm.WarmStandbyStatus {}

function specOf(props: WarmInputs): warm.WarmStandbySpec {
    return { loc: cluster.locationOf(props), primary: props.primary, settings: props.settings };
}

async function observed(props: WarmInputs): Promise<WarmOutputs> {
    return { ...props, ...(await warm.warmStandbyStatus(specOf(props))) };
}

const warmStandbyMethods: CrudMethods<WarmInputs, WarmOutputs> = {
    async create(inputs) {
        const host = cluster.hostOfServer(cluster.locationOf(inputs));
        if (host.exists(inputs.serverDir) && host.list(inputs.serverDir).length > 0) {
            throw new Error(`${inputs.serverDir} already exists and is not this standby; refusing to overwrite or delete it (move it away, or choose another data root)`);
        }
        await assertPortFree(inputs.host, inputs.port, `standbys.${inputs.standbyName}.port`, `standby ${inputs.standbyName}`, undefined, cluster.remoteProbe(cluster.locationOf(inputs)));
        await warm.createWarmStandby(specOf(inputs), (line) => console.log(`standby ${inputs.standbyName}: ${line}`));
        return { id: inputs.serverDir, outs: await observed(inputs) };
    },
    async read(id, props) {
        if (props === undefined || cluster.clusterStatus(specOf(props).loc) === "missing") {
            return {};
        }
        return { id, props: await observed(props).catch(() => ({ ...props, running: false })) };
    },
    async update(_id, olds, news) {
        const spec = specOf(news);
        if (cluster.clusterStatus(spec.loc) !== "running") {
            cluster.writeCopySettings(spec.loc, warm.warmSettings(news.settings));
            cluster.startCluster(spec.loc);
        } else if (!sameData(olds.settings, news.settings)) {
            await cluster.applySettings(spec.loc, news.primary.superuserPassword, warm.warmSettings(news.settings));
        }
        return { outs: await observed(news) };
    },
    async delete(_id, props) {
        warm.removeWarmStandby(specOf(props));
    },
};

/** Whether it runs now: a standby stopped behind Pulumi's back is drift (unreadable counts as stopped). */
function isRunning(props: WarmInputs): boolean {
    try {
        return cluster.clusterStatus(specOf(props).loc) === "running";
    } catch {
        return false;
    }
}

export const warmStandby = defineResource<WarmInputs, WarmOutputs>(
    {
        module: "stagewise", type: "WarmStandby", version: PROVIDER_VERSION,
        replaces: ["serverDir", "port", "standbyName", "osUser"],
        updates: ["settings", "machine"],
        diffRules: (olds, news) => ({
            // A copy of another server, or on another machine.
            replaced: [...(endpointMoved(olds.primary, news.primary) ? ["primary"] : []), ...(machineMoved(olds.machine, news.machine) ? ["machine"] : [])],
            changed: isRunning(olds) ? [] : ["running"], // drift: `up` starts it
        }),
        deleteBeforeReplace: true,
        secretInputs: ["primary", "machine"],
        secretOutputs: ["machine"],
        outputs: ["osUser", "running", "inRecovery", "lastReplayedAt", "lagSeconds"],
    },
    warmStandbyMethods,
);

/** A warm standby of a production server. */
export class WarmStandby extends declaredClass<WarmStandbyArgs, WarmOutputs, "host" | "port" | "running" | "inRecovery" | "lastReplayedAt" | "lagSeconds">(warmStandby) {}
