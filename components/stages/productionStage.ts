// The library's top-level components: a production stage and a staging stage (development or test),
// each everything the configuration declares for it (components/stages/declareStage.ts). A Pulumi
// program declares one with the same keys a stagewise stack file holds, as typed values.
import * as pulumi from "@pulumi/pulumi";
import { ProductionStageConfigInput, StageConfig, StagingStageConfigInput, validateProductionStage, validateStagingStage } from "../config/config";
import { declareStage } from "./declareStage";
import { StageComponent } from "./stageComponent";
import { validatedConfig } from "./validated";

/** A production stage's settings: the keys of a stagewise stack file, as typed values (`stage` is implied). */
export type ProductionStageArgs = ProductionStageConfigInput;

/** Production: its servers, standbys, log shipping, locks, admin objects and promotion gate, engine units and backups. */
export class ProductionStage extends StageComponent {
    constructor(name: string, args: ProductionStageArgs | StageConfig, opts: pulumi.ComponentResourceOptions = {}) {
        const config = validatedConfig("ProductionStage", name, args, validateProductionStage);
        super("stagewise:index:ProductionStage", name, opts, (self) => declareStage(self, name, config));
    }
}

/** A staging stage's settings: the keys of a stagewise stack file, as typed values, with `stage: development | test`. */
export type StagingStageArgs = StagingStageConfigInput & { readonly stage: "development" | "test" };

/** A development or test stage: its servers, bound to production, copied from it, with their own licence rows and admin objects. */
export class StagingStage extends StageComponent {
    constructor(name: string, args: StagingStageArgs | StageConfig, opts: pulumi.ComponentResourceOptions = {}) {
        const config = validatedConfig("StagingStage", name, args, (input: StagingStageArgs, context, what) => validateStagingStage(input.stage, input, context, what));
        super("stagewise:index:StagingStage", name, opts, (self) => declareStage(self, name, config));
    }
}
