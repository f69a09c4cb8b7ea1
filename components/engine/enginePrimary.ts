// EnginePrimary: the engine's declared primary unit (Set Primary). Declaring another unit makes the
// acting one step down and the new one recover state from the database; a unit acting after a
// failover while the declared one is back shows as drift, and `up` declares the primary again.
import * as pulumi from "@pulumi/pulumi";
import * as units from "./unitProcesses";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

const PROVIDER_VERSION = "1";

export interface EnginePrimaryArgs extends ArgsOf<PrimaryInputs, "timeoutSeconds"> {}

export interface PrimaryInputs {
    primary: string;
    /** libpq URL of the work database (secret). */
    workUrl: string;
    timeoutSeconds: number;
    providerVersion: string;
}

export interface RecoveryFigures {
    unit: string;
    at: string;
    /** From taking the acting lock to the recovered instances being loaded. */
    ms: number;
    resumed: number;
    restarted: number;
    terminated: number;
}

export interface PrimaryOutputs extends PrimaryInputs {
    actingPrimary: string | null;
    lastRecovery: RecoveryFigures | null;
}

async function observed(inputs: PrimaryInputs): Promise<PrimaryOutputs> {
    const state = await units.engineState(inputs.workUrl);
    const acting = Object.entries(state.units).find(([, u]) => u.acting);
    const recovery = acting?.[1].lastRecovery;
    return { ...inputs, actingPrimary: acting?.[0] ?? null, lastRecovery: acting && recovery ? { unit: acting[0], ...recovery } : null };
}

async function declare(inputs: PrimaryInputs): Promise<PrimaryOutputs> {
    console.log(`engine: declaring ${inputs.primary} primary; waiting until it acts`);
    await units.setPrimary(inputs.workUrl, inputs.primary, inputs.timeoutSeconds * 1000);
    const outs = await observed(inputs);
    console.log(`engine: ${inputs.primary} acts; state recovered in ${outs.lastRecovery?.ms ?? "?"} ms`);
    return outs;
}

const enginePrimaryMethods: CrudMethods<PrimaryInputs, PrimaryOutputs> = {
    async create(inputs) {
        return { id: "engine-primary", outs: await declare(inputs) };
    },
    async read(id, props) {
        return props ? { id, props: await observed(props).catch(() => ({ ...props, actingPrimary: null })) } : {};
    },
    async update(_id, _olds, news) {
        return { outs: await declare(news) };
    },
    async delete() {
        // The declaration stays in the work database with its data; the units are stopped by their own resources.
    },
};

export const enginePrimary = defineResource<PrimaryInputs, PrimaryOutputs>(
    {
        module: "stagewise", type: "EnginePrimary", version: PROVIDER_VERSION,
        updates: ["primary"],
        // Drift: another unit acting (after a failover) while the declared one is back; `up` declares it again.
        diffRules: async (olds) => ({ changed: (await observed(olds).catch(() => undefined))?.actingPrimary === olds.primary ? [] : ["actingPrimary"] }),
        secretInputs: ["workUrl"],
        outputs: ["actingPrimary", "lastRecovery"],
    },
    enginePrimaryMethods,
);

export class EnginePrimary extends declaredClass<EnginePrimaryArgs, PrimaryOutputs, "actingPrimary" | "lastRecovery">(enginePrimary) {
    constructor(name: string, args: EnginePrimaryArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, { ...args, timeoutSeconds: args.timeoutSeconds ?? 60 }, opts);
    }
}
