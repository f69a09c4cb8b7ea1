// EngineCluster: the engine's units on the platform — one primary that acts, backups that take over —
// with `engine.primary` as the declared primary (Set Primary on change). Local processes on the
// embedded default: the reference engine (engine/) unless engine.command names the user's own.
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseRole } from "./referenceSchema";
import * as path from "path";
import { StageConfig } from "../config/config";
import type { EngineUnitSpec } from "./unitProcesses";
import { EnginePrimary, RecoveryFigures } from "./enginePrimary";
import { EngineUnit } from "./engineUnit";
import { Stage } from "../server/stage";

/** How the reference engine's units run. */
export const REFERENCE_ENGINE = [process.execPath, path.resolve(__dirname, "..", "..", "engine", "run.js")];

/** Where the units run: the stage's servers, its work database and its folder (a Stage, or a DR site after cutover). */
export type EngineHost = Pick<Stage, "dataRootPath"> & { readonly servers: Record<string, pulumi.Resource> };

export interface EngineClusterArgs {
    /** The engine: its units, their command, step and takeover times, the declared primary. */
    readonly engine: StageConfig["engine"];
    readonly stage: EngineHost;
    /** The stage's connection strings for writers (secret): they wait for production's role change (server/stage.ts writesAfter). */
    readonly connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;
}

export interface EngineClusterState {
    declaredPrimary: string;
    actingPrimary: string | null;
    units: Record<string, { pid: number | null; running: boolean }>;
    /** The acting unit's recovery of the state its predecessor left, as of the last `up`. */
    lastRecovery: RecoveryFigures | null;
}

/** The engine's units as the platform runs them (the work database's URL makes it a secret). */
export function engineUnitSpecs(engine: StageConfig["engine"], stage: EngineHost, connectionStrings: pulumi.Output<Record<DatabaseRole, string>>): pulumi.Output<EngineUnitSpec[]> {
    return connectionStrings.apply((cs) =>
        Object.keys(engine.units).map((name) => ({
            name,
            command: engine.command ?? REFERENCE_ENGINE,
            workUrl: cs.work,
            stateDir: path.join(stage.dataRootPath, "engine"),
            stepMs: engine.stepMs,
            takeoverMs: engine.takeoverMs,
        })),
    );
}

export class EngineCluster extends pulumi.ComponentResource {
    public readonly state: pulumi.Output<EngineClusterState>;

    constructor(name: string, args: EngineClusterArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:engine:EngineCluster", name, {}, opts);
        const { engine, stage } = args;
        const workUrl = args.connectionStrings.apply((cs) => cs.work);
        const units = Object.keys(engine.units).map(
            (unit) =>
                [
                    unit,
                    new EngineUnit(
                        `${name}-${unit}`,
                        {
                            name: unit,
                            command: engine.command ?? REFERENCE_ENGINE,
                            workUrl,
                            stateDir: path.join(stage.dataRootPath, "engine"),
                            stepMs: engine.stepMs,
                            takeoverMs: engine.takeoverMs,
                        },
                        { parent: this, dependsOn: Object.values(stage.servers) },
                    ),
                ] as const,
        );
        const primary = new EnginePrimary(`${name}-primary`, { primary: engine.primary!, workUrl }, { parent: this, dependsOn: units.map(([, u]) => u) });
        this.state = pulumi
            .all([
                primary.actingPrimary,
                primary.lastRecovery,
                pulumi.all(Object.fromEntries(units.map(([unit, u]) => [unit, pulumi.all([u.pid, u.running]).apply(([pid, running]) => ({ pid, running }))]))),
            ])
            .apply(([actingPrimary, lastRecovery, unitStates]) => ({ declaredPrimary: engine.primary!, actingPrimary, units: unitStates, lastRecovery }));
        this.registerOutputs({ state: this.state });
    }
}
