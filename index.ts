// The program of every stage: read the stack's configuration, build its topology, export its outputs.
import * as pulumi from "@pulumi/pulumi";
import { loadStageConfig } from "./components/config";
import { Stage } from "./components/stage";

const config = loadStageConfig();
const stage = new Stage(pulumi.getStack(), { config });

export const stageKind = stage.kind;
export const platform = config.platform.kind;
export const dataRoot = stage.dataRoot;
export const postgresVersion = stage.postgresVersion;
