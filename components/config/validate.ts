// Validation of a configuration a program gives as a typed object (a library component's args):
// the same problems, with the same messages, as a stack's configuration, thrown as one error that
// lists them all. The component implies the stage.
import { CheckContext } from "./crossChecks";
import { checkStageConfig } from "./problems";
import { DisasterRecoverySiteConfigInput, ProductionStageConfigInput, StageConfig, StagingStageConfigInput } from "./schema";

/** A configuration with problems: every one of them, each with its path in the user's keys. */
export class StageConfigError extends Error {
    constructor(
        readonly problems: readonly string[],
        /** What was configured, for the heading, e.g. `ProductionStage "prod"`. */
        what = "The stage's configuration",
    ) {
        super([`${what} has ${problems.length} problem${problems.length === 1 ? "" : "s"}:`, ...problems.map((p) => `  - ${p}`)].join("\n"));
        this.name = "StageConfigError";
    }
}

/** The validated configuration (as the components read it), or a StageConfigError listing every problem. */
export function validateStageConfig(values: Record<string, unknown>, context: CheckContext = {}, what?: string): StageConfig {
    const result = checkStageConfig(values, context);
    if (!result.ok) {
        throw new StageConfigError(result.problems, what);
    }
    return result.config;
}

/** A production stage's configuration, validated; throws a StageConfigError listing every problem. */
export function validateProductionStage(input: ProductionStageConfigInput, context: CheckContext = {}, what?: string): StageConfig {
    return validateStageConfig({ ...input, stage: "production" }, context, what);
}

/** A staging stage's configuration (development or test), validated; throws a StageConfigError listing every problem. */
export function validateStagingStage(stage: "development" | "test", input: StagingStageConfigInput, context: CheckContext = {}, what?: string): StageConfig {
    return validateStageConfig({ ...input, stage }, context, what);
}

/** A disaster-recovery site's configuration, validated; throws a StageConfigError listing every problem. */
export function validateDisasterRecoverySite(input: DisasterRecoverySiteConfigInput, context: CheckContext = {}, what?: string): StageConfig {
    return validateStageConfig({ ...input, stage: "production" }, context, what);
}
