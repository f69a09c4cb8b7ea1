// DrLogShipping: the runbook's shipping job to the DR site — production's archived WAL copied into the
// DR site's incoming folder at an interval (components/shipping/shipper.ts runs it). At cutover it is
// stopped: production's archive is no longer followed once the DR server has been promoted.
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { machineMoved, sameData } from "../providers/diffs";
import * as shipping from "../shipping/shipper";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface DrLogShippingArgs extends ArgsOf<ShippingInputs> {}

export interface ShippingInputs {
    /** Production's archive folder. */
    from: string;
    /** The DR site's incoming folder. */
    to: string;
    stateDir: string;
    intervalSeconds: number;
    osUser?: string;
    /** After cutover: stopped. */
    stopped: boolean;
    /**
     * A site on another machine than production's archive: that machine (a secret: it holds the
     * private key), its PostgreSQL programs, and production's server, through which the archive is
     * read. @default the archive is a folder here
     */
    remote?: {
        machine: RemoteMachine;
        binDir: string;
        production: { host: string; port: number; superuserPassword: string };
        /** Production's members on several machines: the one accepting writes is read (logShipping.archiveSources). */
        sources?: shipping.ArchiveSource[];
    };
    providerVersion: string;
}

export interface ShippingOutputs extends ShippingInputs {
    running: boolean;
    newestShipped: string | null;
    lastRunAt: string | null;
    lastError: string | null;
}

function specOf(inputs: ShippingInputs): shipping.ShipperSpec {
    const { remote } = inputs;
    return {
        from: inputs.from, to: inputs.to, intervalMs: inputs.intervalSeconds * 1000, osUser: inputs.osUser, stateDir: inputs.stateDir,
        ...(remote ? { machine: remote.machine, pull: { primary: remote.production, binDir: remote.binDir, sources: remote.sources } } : {}),
    };
}

function observed(inputs: ShippingInputs): ShippingOutputs {
    const status = shipping.shipperStatus(inputs.stateDir, inputs.remote?.machine);
    return { ...inputs, running: status.running, newestShipped: status.newestShipped, lastRunAt: status.lastRunAt, lastError: status.lastError };
}

async function converge(inputs: ShippingInputs, restart: boolean): Promise<ShippingOutputs> {
    const machine = inputs.remote?.machine;
    if (inputs.stopped || restart) {
        await shipping.stopShipper(inputs.stateDir, machine);
    }
    if (!inputs.stopped) {
        shipping.startShipper(specOf(inputs));
        await shipping.waitForShippingRun(inputs.stateDir, 30_000, machine).catch(() => undefined); // the first run's figures, when quick
    }
    return observed(inputs);
}

const drShippingMethods: CrudMethods<ShippingInputs, ShippingOutputs> = {
    async create(inputs) {
        return { id: inputs.stateDir, outs: await converge(inputs, false) };
    },
    async read(id, props) {
        return props === undefined ? {} : { id, props: observed(props) };
    },
    async update(_id, olds, news) {
        // The loop gets its archive, interval and sources as arguments: a new one starts it again.
        return { outs: await converge(news, olds.from !== news.from || olds.intervalSeconds !== news.intervalSeconds || !sameData(olds.remote?.sources, news.remote?.sources)) };
    },
    async delete(_id, props) {
        await shipping.stopShipper(props.stateDir, props.remote?.machine);
        // Copies of production's archive and the job's own state: nothing here is the only copy of anything.
        const host = hostOf({ binDir: "", osUser: props.osUser, ...(props.remote ? { machine: props.remote.machine } : {}) });
        host.remove(props.stateDir);
        host.remove(props.to);
    },
};

export const drShipping = defineResource<ShippingInputs, ShippingOutputs>(
    {
        module: "stagewise", type: "DrLogShipping", version: PROVIDER_VERSION,
        replaces: ["to", "stateDir", "osUser"],
        updates: ["from", "intervalSeconds", "stopped", "remote"],
        // Drift: a shipper that stopped shows in preview (unless it should be stopped); up restarts it.
        diffRules: (olds, news) => ({
            changed: !news.stopped && !shipping.shipperStatus(olds.stateDir, news.remote?.machine).running ? ["running"] : [],
            replaced: machineMoved(olds.remote?.machine, news.remote?.machine) ? ["remote"] : [],
        }),
        deleteBeforeReplace: true,
        secretInputs: ["remote"],
        secretOutputs: ["remote"],
        outputs: ["osUser", "running", "newestShipped", "lastRunAt", "lastError"],
    },
    drShippingMethods,
);

/** Shipping of production's archived WAL to the DR site. */
export class DrLogShipping extends declaredClass<DrLogShippingArgs, ShippingOutputs, "running" | "newestShipped" | "lastRunAt" | "lastError">(drShipping) {}
