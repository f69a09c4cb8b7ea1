// EngineUnit: one unit of the engine as a process on this machine (engine/unitProcesses.ts). A unit
// that died shows in every preview and is started again by `up`; it then waits as a backup until the
// declared primary is re-asserted (EnginePrimary).
import * as pulumi from "@pulumi/pulumi";
import * as units from "./unitProcesses";
import { changedKnown, sameData } from "../providers/diffs";

const PROVIDER_VERSION = "1";

export interface EngineUnitArgs {
    readonly name: pulumi.Input<string>;
    readonly command: pulumi.Input<string[]>;
    /** libpq URL of the work database (secret). */
    readonly workUrl: pulumi.Input<string>;
    readonly stateDir: pulumi.Input<string>;
    readonly stepMs: pulumi.Input<number>;
    readonly takeoverMs: pulumi.Input<number>;
}

interface UnitInputs extends units.EngineUnitSpec {
    providerVersion: string;
}

interface UnitOutputs extends UnitInputs {
    pid: number | null;
    running: boolean;
}

const observed = (inputs: UnitInputs): UnitOutputs => {
    const pid = units.unitPid(inputs);
    return { ...inputs, pid: pid ?? null, running: pid !== undefined };
};

const engineUnitProvider: pulumi.dynamic.ResourceProvider<UnitInputs, UnitOutputs> = {
    async diff(_id, olds, news) {
        const replaces = changedKnown(olds, news, ["name", "stateDir"] as const);
        const restart = !sameData(olds.command, news.command) || olds.stepMs !== news.stepMs || olds.takeoverMs !== news.takeoverMs || olds.workUrl !== news.workUrl;
        const died = units.unitPid(olds) === undefined; // drift: `up` starts it again
        return { changes: replaces.length > 0 || restart || died || olds.providerVersion !== news.providerVersion, replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        console.log(`engine unit ${inputs.name}: starting`);
        await units.startEngineUnit(inputs);
        return { id: `${inputs.stateDir}/${inputs.name}`, outs: observed(inputs) };
    },
    async read(id, props) {
        return props ? { id, props: observed(props) } : {};
    },
    async update(_id, olds, news) {
        if (!sameData(olds.command, news.command) || olds.stepMs !== news.stepMs || olds.takeoverMs !== news.takeoverMs || olds.workUrl !== news.workUrl) {
            console.log(`engine unit ${news.name}: restarting with its new settings`);
            await units.stopEngineUnit(olds);
        } else if (units.unitPid(olds) === undefined) {
            console.log(`engine unit ${news.name}: was not running; starting it again`);
        }
        await units.startEngineUnit(news);
        return { outs: observed(news) };
    },
    async delete(_id, props) {
        await units.stopEngineUnit(props);
    },
};

export class EngineUnit extends pulumi.dynamic.Resource {
    declare public readonly pid: pulumi.Output<number | null>;
    declare public readonly running: pulumi.Output<boolean>;

    constructor(name: string, args: EngineUnitArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            engineUnitProvider,
            name,
            { ...args, workUrl: pulumi.secret(args.workUrl), providerVersion: PROVIDER_VERSION, pid: undefined, running: undefined },
            opts,
            "stagewise",
            "EngineUnit",
        );
    }
}
