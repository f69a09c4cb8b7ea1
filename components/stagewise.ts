// stagewise as a library: the components a Pulumi program declares, with their argument types.
// The stack program of this project (index.ts) uses exactly this surface.

// A whole stage or site, from the same keys a stagewise stack file holds.
export { ProductionStage, StagingStage } from "./stages/productionStage";
export type { ProductionStageArgs, StagingStageArgs } from "./stages/productionStage";
export { DisasterRecoverySite } from "./dr/disasterRecovery";
export type { DisasterRecoverySiteArgs } from "./dr/disasterRecovery";
export { StageComponent } from "./stages/stageComponent";
export type { StackOutputs } from "./stages/stageOutputs";
export { stackConfig } from "./stages/validated";

// The configuration: its type, its validation and the outputs contract.
export type { StageConfig } from "./config/config";
export { parseStageConfig, formatProblems, StageConfigError, validateProductionStage, validateStagingStage, validateDisasterRecoverySite } from "./config/config";
export type { ProductionStageConfigInput, StagingStageConfigInput, DisasterRecoverySiteConfigInput } from "./config/config";
export { OUTPUTS_VERSION, stageOutputsSchema } from "./outputs";
export type { StageOutputs } from "./outputs";

// The building blocks a stage is made of.
export { Stage } from "./server/stage";
export type { StageArgs, StageServer, DatabasePlacement } from "./server/stage";
export { Standbys as HotStandbys } from "./standby/hot/hotStandbys";
export type { StandbysArgs as HotStandbysArgs } from "./standby/hot/hotStandbys";
export { WarmStandbys } from "./standby/warm/warmStandbys";
export { ColdStandbys } from "./standby/cold/coldStandbys";
export { LogShipping } from "./shipping/logShipping";
export { Coordination } from "./locks/coordination";
export { AdminObjects } from "./admin/promotion";
export { EngineCluster } from "./engine/engineCluster";
export { BackupPlan } from "./backup/backups";
