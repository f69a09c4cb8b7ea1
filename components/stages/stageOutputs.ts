// The outputs of a production or staging stage (the contract in components/outputs.ts), made from
// the parts declareStage declared. Outputs that do not apply to the stage are left out.
import * as pulumi from "@pulumi/pulumi";
import type { StageConfig } from "../config/config";
import { AdminObjects } from "../admin/promotion";
import { BackupPlan } from "../backup/backups";
import { LicenseReapplication } from "../dr/licenseReapplication";
import { EngineCluster } from "../engine/engineCluster";
import { Coordination } from "../locks/coordination";
import { OUTPUTS_VERSION } from "../outputs";
import type { DatabaseRole } from "../engine/referenceSchema";
import { Stage } from "../server/stage";
import { LogShipping } from "../shipping/logShipping";
import { ColdStandbys } from "../standby/cold/coldStandbys";
import { Standbys } from "../standby/hot/hotStandbys";
import { WarmStandbys } from "../standby/warm/warmStandbys";
import { topologyDiagram } from "../../pipelines/topology";

/** The stack outputs of a stage, by name (values are plain or pulumi.Output). */
export type StackOutputs = Record<string, unknown>;

export interface StageParts {
    stage: Stage;
    /** The stage's connection strings, gated by the role change. */
    connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;
    standbys?: Standbys;
    coldStandbys?: ColdStandbys;
    logShipping?: LogShipping;
    warmStandbys?: WarmStandbys;
    coordination: Coordination;
    identity?: LicenseReapplication;
    admin: AdminObjects;
    engine?: EngineCluster;
    backups?: BackupPlan;
}

export function stageOutputs(config: StageConfig, parts: StageParts): StackOutputs {
    const { stage, standbys, coldStandbys, logShipping, warmStandbys, coordination, identity, admin, engine, backups } = parts;
    const stack = pulumi.getStack();
    const copy = coordination.copy;
    const outputs: StackOutputs = {
        outputsVersion: OUTPUTS_VERSION,
        engine: engine?.state,
        backups: backups?.state,
        topology: topologyDiagram([{ stack, qualifiedName: `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`, config }]),
        stage: stage.kind,
        platform: config.platform.kind,
        dataRoot: stage.dataRoot,
        postgresVersion: stage.postgresVersion,
        servers: serversOutput(stage, standbys),
        databases: stage.databases,
        connectionStrings: parts.connectionStrings,
        locks: coordination.locks,
        boundStagingServers: coordination.boundStagingServers,
        boundTo: coordination.boundTo,
        adminObjects: admin.state,
        copySource: copySourceOutput(config, stage),
        identity: identity
            ? pulumi.all([identity.recordedAt, identity.reappliedAt, identity.rowsReapplied]).apply(([recordedAt, reappliedAt, rowsReapplied]) => ({ recordedAt, reappliedAt, rowsReapplied }))
            : undefined,
        standbys: warmStandbys ? pulumi.all([standbys?.standbys ?? {}, warmStandbys.standbys]).apply(([hot, warm]) => ({ ...hot, ...warm })) : standbys?.standbys,
        logShipping: logShipping?.state,
        coldStandbys: coldStandbys?.standbys,
        failoverConnectionStrings: standbys?.failoverConnectionStrings,
        primary: standbys?.primary,
        redirectionRunbook: standbys?.redirectionRunbook,
        lastCopy: copy
            ? pulumi.all([copy.copiedAt, copy.trigger, copy.bytes, copy.verified, copy.identityRowsRestored, copy.sourceSystemIdentifier, copy.tables]).apply(
                  ([copiedAt, trigger, bytes, verified, identityRowsRestored, sourceSystemIdentifier, tables]) => ({ copiedAt, trigger, bytes, verified, identityRowsRestored, sourceSystemIdentifier, tables }),
              )
            : undefined,
    };
    return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
}

/**
 * Each server as clients see it. A member of the replication group runs if the role's last look saw
 * it (a server fenced in a failover is recorded stopped, then rejoined as a standby by the role later in the same up).
 */
function serversOutput(stage: Stage, standbys: Standbys | undefined) {
    const role = standbys?.primaryRole;
    const seenByRole = role ? pulumi.all([role.primary, role.replication]) : pulumi.output([undefined, {}] as [string | undefined, Record<string, { state: string | null }>]);
    return pulumi.all(
        Object.fromEntries(
            Object.entries(stage.servers).map(([name, s]) => [
                name,
                pulumi.all([s.host, s.port, s.serverVersion, s.systemIdentifier, s.running, s.startedAt, seenByRole]).apply(
                    ([host, port, serverVersion, systemIdentifier, recordedRunning, startedAt, [primary, replication]]) => ({
                        host,
                        port,
                        endpoint: `${host}:${port}`,
                        serverVersion,
                        systemIdentifier,
                        running: recordedRunning || primary === name || replication[name]?.state === "streaming",
                        startedAt,
                        databases: stage.topology.members[name].databases.map((db) => stage.topology.engine.databases[db]),
                    }),
                ),
            ]),
        ),
    );
}

/**
 * Production's server holding every engine database is what staging stages copy from and the DR site
 * backs up (a secret: pg_basebackup and the copy's checks need its superuser). With hot standbys, the
 * declared primary: after a failover from a lost host, the member that took over.
 */
function copySourceOutput(config: StageConfig, stage: Stage) {
    const placements = Object.values(stage.databases);
    const source = placements.every((p) => p.server === placements[0].server) ? stage.servers[placements[0].server] : undefined;
    if (config.stage !== "production" || source === undefined) {
        return undefined;
    }
    const primary = stage.topology.members[stage.topology.primary];
    const endpoint = primary.tier === "hot" ? { host: pulumi.output(primary.host), port: pulumi.output(primary.port!) } : { host: source.host, port: source.port };
    return pulumi.secret(pulumi.all([endpoint.host, endpoint.port, source.superuserPassword]).apply(([host, port, superuserPassword]) => ({ host, port, superuserPassword })));
}
