// EngineUnit: one unit of the engine as a process on this machine (engine/unitProcesses.ts). A unit
// that died shows in every preview and is started again by `up`; it then waits as a backup until the
// declared primary is re-asserted (EnginePrimary).
import * as units from "./unitProcesses";
import { changedKnown } from "../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

const PROVIDER_VERSION = "1";

export interface EngineUnitArgs extends ArgsOf<UnitInputs> {}

export interface UnitInputs extends units.EngineUnitSpec {
    providerVersion: string;
}

export interface UnitOutputs extends UnitInputs {
    pid: number | null;
    running: boolean;
}

/** Inputs a running unit takes only when started: a change restarts it. */
const RESTARTING_INPUTS = ["command", "stepMs", "takeoverMs", "workUrl"] as const;

const observed = (inputs: UnitInputs): UnitOutputs => {
    const pid = units.unitPid(inputs);
    return { ...inputs, pid: pid ?? null, running: pid !== undefined };
};

const engineUnitMethods: CrudMethods<UnitInputs, UnitOutputs> = {
    async create(inputs) {
        console.log(`engine unit ${inputs.name}: starting`);
        await units.startEngineUnit(inputs);
        return { id: `${inputs.stateDir}/${inputs.name}`, outs: observed(inputs) };
    },
    async read(id, props) {
        return props ? { id, props: observed(props) } : {};
    },
    async update(_id, olds, news) {
        if (changedKnown(olds, news, RESTARTING_INPUTS).length > 0) {
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

export const engineUnit = defineResource<UnitInputs, UnitOutputs>(
    {
        module: "stagewise", type: "EngineUnit", version: PROVIDER_VERSION,
        replaces: ["name", "stateDir"],
        updates: RESTARTING_INPUTS,
        diffRules: (olds) => ({ changed: units.unitPid(olds) === undefined ? ["running"] : [] }), // drift: `up` starts it again
        deleteBeforeReplace: true,
        secretInputs: ["workUrl"],
        outputs: ["pid", "running"],
    },
    engineUnitMethods,
);

export class EngineUnit extends declaredClass<EngineUnitArgs, UnitOutputs, "pid" | "running">(engineUnit) {}
