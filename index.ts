// The program of every stage: read the stack's configuration, build its topology, export its outputs
// (the contract in components/outputs.ts).
import * as pulumi from "@pulumi/pulumi";
import { databasesOf, loadStageConfig } from "./components/config";
import { Coordination } from "./components/coordination";
import { OUTPUTS_VERSION } from "./components/outputs";
import { Stage } from "./components/stage";

const config = loadStageConfig();
const topology = new Stage(pulumi.getStack(), { config });
const coordination = new Coordination(pulumi.getStack(), { config, stage: topology });

export const outputsVersion = OUTPUTS_VERSION;
export const stage = topology.kind;
export const platform = config.platform.kind;
export const dataRoot = topology.dataRoot;
export const postgresVersion = topology.postgresVersion;
export const servers = pulumi.all(
    Object.fromEntries(
        Object.entries(topology.servers).map(([name, s]) => [
            name,
            pulumi.all([s.host, s.port, s.serverVersion, s.systemIdentifier, s.running, s.startedAt]).apply(
                ([host, port, serverVersion, systemIdentifier, running, startedAt]) => ({
                    host,
                    port,
                    endpoint: `${host}:${port}`,
                    serverVersion,
                    systemIdentifier,
                    running,
                    startedAt,
                    databases: databasesOf(config, name).map((role) => config.engine.databases[role]),
                }),
            ),
        ]),
    ),
);
export const databases = topology.databases;
export const connectionStrings = topology.connectionStrings;
export const locks = coordination.locks;
export const boundStagingServers = coordination.boundStagingServers;
export const boundTo = coordination.boundTo;
