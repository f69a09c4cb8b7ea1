// The program of every stage: read the stack's configuration and the stacks it depends on, build
// its topology, and return its outputs (the contract in components/outputs.ts).
import * as pulumi from "@pulumi/pulumi";
import { databasesOf, declaredPorts, loadStageConfig } from "./components/config/config";
import { BackupPlan } from "./components/backup/backups";
import { Coordination } from "./components/locks/coordination";
import { EngineCluster } from "./components/engine/engineCluster";
import { deployDisasterRecovery } from "./components/dr/disasterRecovery";
import { OUTPUTS_VERSION } from "./components/outputs";
import { AdminObjects, planAdminObjects } from "./components/admin/promotion";
import { referenceProduction, verifiedOnTest } from "./components/references";
import { LogShipping } from "./components/shipping/logShipping";
import { ephemeralPortWarnings } from "./components/platform/ports";
import { LicenseReapplication } from "./components/dr/licenseReapplication";
import { Stage } from "./components/server/stage";
import { Standbys } from "./components/standby/hot/hotStandbys";
import { actingPrimaryProblem, isStandbyNow } from "./components/standby/hot/actingPrimary";
import { declaredPrimary } from "./components/standby/hot/roles";
import { warmStandbyNames, WarmStandbys } from "./components/standby/warm/warmStandbys";
import { ColdStandbys } from "./components/standby/cold/coldStandbys";
import { topologyDiagram } from "./pipelines/topology";

// Validated while the program loads: bad configuration stops it before anything else happens.
const config = loadStageConfig();

export = async () => {
    try {
        return await deploy();
    } catch (err) {
        // A refusal (RunError) or a component's own error is reported once, without a stack trace, and
        // the program ends at once: left to itself, Node lingers some 20 s on open engine connections.
        if (pulumi.RunError.isInstance(err) || pulumi.ResourceError.isInstance(err)) {
            await pulumi.log.error((err as Error).message, pulumi.ResourceError.isInstance(err) ? (err as pulumi.ResourceError).resource : undefined);
            process.exit(32); // the SDK's "error already reported" exit code
        }
        throw err;
    }
};

/** A declared primary that is a standby now, with no declared member able to take over, is refused (components/standby/hot/actingPrimary.ts). */
async function refuseFencedPrimary(dataRoot: string): Promise<void> {
    if (config.stage !== "production" || config.platform.kind !== "local" || !isStandbyNow(dataRoot, declaredPrimary(config))) {
        return;
    }
    // Who acted at the last up: this stack's own outputs.
    const self = new pulumi.StackReference(`${pulumi.getStack()}-last-outputs`, { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const acting = ((await self.getOutputDetails("primary")).value as { name?: string } | undefined)?.name;
    const problem = actingPrimaryProblem(config, dataRoot, acting);
    if (problem !== undefined) {
        throw new pulumi.RunError(problem);
    }
}

async function deploy() {
    for (const warning of config.platform.kind === "local" ? ephemeralPortWarnings(declaredPorts(config)) : []) {
        pulumi.log.warn(warning);
    }
    if (config.disasterRecovery) {
        return deployDisasterRecovery(config); // a DR site: its own topology (components/dr/disasterRecovery.ts)
    }
    const production = config.stage !== "production" && config.production ? await referenceProduction(config.production.stack) : undefined;
    const onTest = config.stage === "production" && config.promotion ? await verifiedOnTest(config.promotion.from) : undefined;
    const adminPlan = planAdminObjects(config, onTest);

    const stack = pulumi.getStack();
    const topology = new Stage(stack, { config });
    await refuseFencedPrimary(topology.dataRootPath);
    const standbys =
        Object.keys(config.standbys).length > 0
            ? new Standbys(stack, { config, stage: topology, dataRoot: topology.dataRootPath })
            : undefined;
    const coldStandbys = Object.values(config.standbys).some((s) => s.tier === "cold") ? new ColdStandbys(`${stack}-cold`, { config, stage: topology }) : undefined;
    // With `shipping`, production's archive feeds a shipper per warm standby.
    const logShipping = topology.walArchive ? new LogShipping(`${stack}-shipping`, { config, stage: topology, receivers: warmStandbyNames(config) }) : undefined;
    const warmStandbys = logShipping && warmStandbyNames(config).length > 0 ? new WarmStandbys(`${stack}-warm`, { config, stage: topology, shipping: logShipping }) : undefined;
    if (standbys?.primaryRole) {
        topology.waitFor(standbys.primaryRole); // writes to production wait for a switchover or failover
    }
    const coordination = new Coordination(stack, { config, stage: topology, production });
    // After a copy the work database holds production's admin objects: the stage's own are applied after it.
    const identity = config.identity
        ? new LicenseReapplication(
              `${stack}-identity`,
              {
                  connection: topology.connectionStrings.apply((cs) => cs.config),
                  tables: [topology.tables.server, topology.tables.licenseKey],
                  reapply: config.identity.reapply,
              },
              // After a copy, the copied rows are what gets replaced.
              { parent: topology, dependsOn: [...Object.values(topology.servers), ...(coordination.copy ? [coordination.copy] : [])] },
          )
        : undefined;
    const admin = new AdminObjects(stack, { config, stage: topology, plan: adminPlan }, { dependsOn: coordination.copy ? [coordination.copy] : [] });
    // Units start once the process definitions they run are in place.
    const engineCluster = Object.keys(config.engine.units).length > 0 ? new EngineCluster(stack, { config, stage: topology }, { dependsOn: [admin] }) : undefined;
    const backups = config.backups ? new BackupPlan(stack, { config, stage: topology }, { dependsOn: [admin, ...(engineCluster ? [engineCluster] : [])] }) : undefined;

    // A member of the replication group runs if the role's last look saw it (a server fenced in a
    // failover is recorded stopped, then rejoined as a standby by the role later in the same up).
    const role = standbys?.primaryRole;
    const seenByRole = role ? pulumi.all([role.primary, role.replication]) : pulumi.output([undefined, {}] as [string | undefined, Record<string, { state: string | null }>]);
    const servers = pulumi.all(
        Object.fromEntries(
            Object.entries(topology.servers).map(([name, s]) => [
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
                        databases: databasesOf(config, name).map((role) => config.engine.databases[role]),
                    }),
                ),
            ]),
        ),
    );

    // Production's server holding every engine database is what staging stages copy from (a secret:
    // pg_basebackup and the copy's checks need its superuser).
    const placements = Object.values(topology.databases);
    const sourceServer = placements.every((p) => p.server === placements[0].server) ? topology.servers[placements[0].server] : undefined;
    const copySource =
        config.stage === "production" && sourceServer
            ? pulumi.secret(pulumi.all([sourceServer.host, sourceServer.port, sourceServer.superuserPassword]).apply(([host, port, superuserPassword]) => ({ host, port, superuserPassword })))
            : undefined;
    const copy = coordination.copy;

    const outputs = {
        outputsVersion: OUTPUTS_VERSION,
        engine: engineCluster?.state,
        backups: backups?.state,
        topology: topologyDiagram([{ stack, qualifiedName: `${pulumi.getOrganization()}/${pulumi.getProject()}/${stack}`, config }]),
        stage: topology.kind,
        platform: config.platform.kind,
        dataRoot: topology.dataRoot,
        postgresVersion: topology.postgresVersion,
        servers,
        databases: topology.databases,
        connectionStrings: topology.connectionStrings,
        locks: coordination.locks,
        boundStagingServers: coordination.boundStagingServers,
        boundTo: coordination.boundTo,
        adminObjects: admin.state,
        copySource,
        identity: identity
            ? pulumi.all([identity.recordedAt, identity.reappliedAt, identity.rowsReapplied]).apply(([recordedAt, reappliedAt, rowsReapplied]) => ({
                  recordedAt,
                  reappliedAt,
                  rowsReapplied,
              }))
            : undefined,
        standbys: warmStandbys ? pulumi.all([standbys?.standbys ?? {}, warmStandbys.standbys]).apply(([hot, warm]) => ({ ...hot, ...warm })) : standbys?.standbys,
        logShipping: logShipping?.state,
        coldStandbys: coldStandbys?.standbys,
        failoverConnectionStrings: standbys?.failoverConnectionStrings,
        primary: standbys?.primary,
        redirectionRunbook: standbys?.redirectionRunbook,
        lastCopy: copy
            ? pulumi.all([copy.copiedAt, copy.trigger, copy.bytes, copy.verified, copy.identityRowsRestored, copy.sourceSystemIdentifier, copy.tables]).apply(
                  ([copiedAt, trigger, bytes, verified, identityRowsRestored, sourceSystemIdentifier, tables]) => ({
                      copiedAt,
                      trigger,
                      bytes,
                      verified,
                      identityRowsRestored,
                      sourceSystemIdentifier,
                      tables,
                  }),
              )
            : undefined,
    };
    // Outputs that do not apply to this stage are left out (the contract marks them optional).
    return Object.fromEntries(Object.entries(outputs).filter(([, value]) => value !== undefined));
}
