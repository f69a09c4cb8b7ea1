// DrLogShipping: the runbook's shipping job to the DR site — production's archived WAL copied into the
// DR site's incoming folder at an interval (components/shipping/shipper.ts runs it). At cutover it is
// stopped: production's archive is no longer followed once the DR server has been promoted.
import { hostOf } from "../platform/local";
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
    providerVersion: string;
}

export interface ShippingOutputs extends ShippingInputs {
    running: boolean;
    newestShipped: string | null;
    lastRunAt: string | null;
    lastError: string | null;
}

function observed(inputs: ShippingInputs): ShippingOutputs {
    const status = shipping.shipperStatus(inputs.stateDir);
    return { ...inputs, running: status.running, newestShipped: status.newestShipped, lastRunAt: status.lastRunAt, lastError: status.lastError };
}

async function converge(inputs: ShippingInputs, restart: boolean): Promise<ShippingOutputs> {
    if (inputs.stopped || restart) {
        await shipping.stopShipper(inputs.stateDir);
    }
    if (!inputs.stopped) {
        shipping.startShipper({ from: inputs.from, to: inputs.to, intervalMs: inputs.intervalSeconds * 1000, osUser: inputs.osUser, stateDir: inputs.stateDir });
        await shipping.waitForShippingRun(inputs.stateDir).catch(() => undefined); // the first run's figures, when quick
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
        return { outs: await converge(news, olds.from !== news.from || olds.intervalSeconds !== news.intervalSeconds) };
    },
    async delete(_id, props) {
        await shipping.stopShipper(props.stateDir);
        // Copies of production's archive and the job's own state: nothing here is the only copy of anything.
        const host = hostOf({ binDir: "", osUser: props.osUser });
        host.remove(props.stateDir);
        host.remove(props.to);
    },
};

export const drShipping = defineResource<ShippingInputs, ShippingOutputs>(
    {
        module: "stagewise", type: "DrLogShipping", version: PROVIDER_VERSION,
        replaces: ["to", "stateDir", "osUser"],
        updates: ["from", "intervalSeconds", "stopped"],
        // Drift: a shipper that stopped shows in preview (unless it should be stopped); up restarts it.
        diffRules: (olds, news) => ({ changed: !news.stopped && !shipping.shipperStatus(olds.stateDir).running ? ["running"] : [] }),
        deleteBeforeReplace: true,
        outputs: ["osUser", "running", "newestShipped", "lastRunAt", "lastError"],
    },
    drShippingMethods,
);

/** Shipping of production's archived WAL to the DR site. */
export class DrLogShipping extends declaredClass<DrLogShippingArgs, ShippingOutputs, "running" | "newestShipped" | "lastRunAt" | "lastError">(drShipping) {}
