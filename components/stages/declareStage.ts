// What a production or staging stage is made of, declared under its component: the servers, the
// standbys and log shipping, the locks, bindings and copy, the licence rows, the admin objects, the
// engine units and the backups; and the stack outputs they make (components/outputs.ts).
import * as pulumi from "@pulumi/pulumi";
import { declaredPorts, StageConfig } from "../config/config";
import { AdminObjects, planAdminObjects } from "../admin/promotion";
import { BackupPlan } from "../backup/backups";
import { LicenseReapplication } from "../dr/licenseReapplication";
import { EngineCluster } from "../engine/engineCluster";
import { Coordination } from "../locks/coordination";
import { ephemeralPortWarnings } from "../platform/ports";
import { referenceProduction, verifiedOnTest } from "../references";
import { Stage, writesAfter } from "../server/stage";
import { LocalPlaces, stagePlaces } from "../topology/hostPaths";
import { membersOf, resolveStage, StageTopology, Tier } from "../topology/topology";
import { LogShipping } from "../shipping/logShipping";
import { ColdStandbys } from "../standby/cold/coldStandbys";
import { actingPrimaryProblem, isStandbyNow, MemberFiles } from "../standby/hot/actingPrimary";
import { hostOf } from "../platform/local";
import { membersOnHosts } from "../config/hostRules";
import { Standbys } from "../standby/hot/hotStandbys";
import { declaredPrimary } from "../standby/hot/roles";
import { warmStandbyNames, WarmStandbys } from "../standby/warm/warmStandbys";
import { stageOutputs, StackOutputs } from "./stageOutputs";

/**
 * Declares the stage under `parent`. Its parts keep the names and URNs they had when they were
 * declared at the top of the stack (before the stage components existed): each is aliased there.
 */
export async function declareStage(parent: pulumi.ComponentResource, name: string, config: StageConfig): Promise<StackOutputs> {
    const part = (opts: pulumi.ComponentResourceOptions = {}): pulumi.ComponentResourceOptions => ({ ...opts, parent, aliases: [{ parent: pulumi.rootStackResource }] });
    for (const warning of config.platform.kind === "local" ? ephemeralPortWarnings(declaredPorts(config)) : []) {
        pulumi.log.warn(warning);
    }
    const production = config.stage !== "production" && config.production ? await referenceProduction(config.production.stack) : undefined;
    const onTest = config.stage === "production" && config.promotion ? await verifiedOnTest(config.promotion.from) : undefined;
    const adminPlan = planAdminObjects(config, onTest);

    const paths = placesOf(parent, config);
    const topology = resolveStage(config, pulumi.getStack(), paths);
    for (const warning of lostHostWarnings(topology)) {
        pulumi.log.warn(warning);
    }
    const stage = new Stage(name, { topology, dataRootMoved: paths.moved, superuserPassword: config.superuserPassword, applicationPassword: config.applicationPassword }, part());
    await refuseFencedPrimary(config, hostOf(topology.paths), stage.dataRootPath);
    const has = (tier: Tier) => membersOf(topology, tier).length > 0;
    const standbys = has("hot") || has("warm") || has("cold") ? new Standbys(name, { stage }, part()) : undefined;
    const coldStandbys = has("cold") ? new ColdStandbys(`${name}-cold`, { stage }, part()) : undefined;
    // With `shipping`, production's archive feeds a shipper per warm standby.
    const logShipping = stage.walArchive ? new LogShipping(`${name}-shipping`, { stage, receivers: warmStandbyNames(topology) }, part()) : undefined;
    const warmStandbys = logShipping && has("warm") ? new WarmStandbys(`${name}-warm`, { stage, shipping: logShipping }, part()) : undefined;
    // Writes to production wait for a switchover or failover.
    const connectionStrings = writesAfter(stage.connectionStrings, standbys?.primaryRole);
    const coordination = new Coordination(name, { locks: config.locks, copy: config.copy, stage, connectionStrings, production }, part());
    const copied = coordination.copy ? [coordination.copy] : [];
    // After a copy the work database holds production's admin objects: the stage's own are applied after it.
    const identity = config.identity
        ? new LicenseReapplication(
              `${name}-identity`,
              { connection: connectionStrings.apply((cs) => cs.config), tables: [stage.tables.server, stage.tables.licenseKey], reapply: config.identity.reapply },
              // After a copy, the copied rows are what gets replaced.
              { parent: stage, dependsOn: [...Object.values(stage.servers), ...copied] },
          )
        : undefined;
    const admin = new AdminObjects(name, { stage, connectionStrings, plan: adminPlan }, part({ dependsOn: copied }));
    // Units start once the process definitions they run are in place.
    const engine = Object.keys(config.engine.units).length > 0 ? new EngineCluster(name, { engine: config.engine, stage, connectionStrings }, part({ dependsOn: [admin] })) : undefined;
    const backups = config.backups ? new BackupPlan(name, { backups: config.backups, restore: config.restore, engine: config.engine, stage, connectionStrings }, part({ dependsOn: [admin, ...(engine ? [engine] : [])] })) : undefined;
    return stageOutputs(config, { connectionStrings, stage, standbys, coldStandbys, logShipping, warmStandbys, coordination, identity, admin, engine, backups });
}

/** A declared primary that is a standby now, with no declared member able to take over, is refused (standby/hot/actingPrimary.ts). */
async function refuseFencedPrimary(config: StageConfig, host: MemberFiles, dataRoot: string): Promise<void> {
    // Members on hosts: their files are read over SSH by the role change itself (not from here).
    if (config.stage !== "production" || config.platform.kind !== "local" || membersOnHosts(config).length > 0 || !isStandbyNow(host, dataRoot, declaredPrimary(config))) {
        return;
    }
    // Who acted at the last up: this stack's own outputs.
    const self = new pulumi.StackReference(`${pulumi.getStack()}-last-outputs`, { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const acting = ((await self.getOutputDetails("primary")).value as { name?: string } | undefined)?.name;
    const problem = actingPrimaryProblem(config, host, dataRoot, acting);
    if (problem !== undefined) {
        throw new pulumi.RunError(problem);
    }
}

/** What `preview` and `up` say while hosts are declared lost: which members are left as they are. */
export function lostHostWarnings(topology: StageTopology): string[] {
    const lostHosts = [...new Set(Object.values(topology.members).flatMap((m) => (m.machine?.lost ? [m.machine.name] : [])))];
    return lostHosts.map((host) => {
        const members = Object.values(topology.members).filter((m) => m.machine?.name === host).map((m) => `${m.name} (${m.tier})`);
        return (
            `host ${host} is declared lost (hosts.${host}.lost): ${members.join(", ")} ${members.length > 1 ? "are" : "is"} not contacted and left as recorded; ` +
            `remove hosts.${host}.lost once the host is back, and up rejoins ${members.length > 1 ? "them" : "it"}`
        );
    });
}

/** The stage's places on this machine; a missing PostgreSQL is the stage's error. */
function placesOf(parent: pulumi.Resource, config: StageConfig): LocalPlaces {
    try {
        return stagePlaces(config, pulumi.getStack());
    } catch (err) {
        throw new pulumi.ResourceError((err as Error).message, parent);
    }
}
