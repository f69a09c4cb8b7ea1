// The DR site as its own stack (the runbook's disaster-recovery procedure): production's base backups
// and shipped WAL kept at the site, its server named like production's and standing by (warm: in
// continuous recovery; cold: no server), its engine units off. `cutover` recovers every database to
// one instant, promotes the server and re-applies the DR site's own licence rows.
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { DisasterRecoverySiteConfigInput, StageConfig, validateDisasterRecoverySite } from "../config/config";
import { cutoverTarget } from "../config/drRules";
import { parseDuration } from "../config/duration";
import { DATABASE_ROLES, DatabaseRole } from "../engine/referenceSchema";
import { parseQualifiedName } from "../engine/tables";
import { hostForUrl } from "../postgres/pg";
import { stagePlaces } from "../topology/hostPaths";
import { hostOf } from "../platform/local";
import type { Host, RemoteMachine } from "../platform/platform";
import { machineInput } from "../server/location";
import type { RecoveryTarget } from "../backup/restore";
import { SourceServer } from "../backup/pitrBackups";
import type { ArchiveSource } from "../shipping/shipper";
import { cutoverRefusal, previousCutover } from "./cutover";
import { BaseBackups } from "../backup/baseBackups";
import { DataRoot } from "../server/dataRoot";
import { DisasterRecoveryServer } from "./drServer";
import { DrLogShipping } from "./drShipping";
import { EngineCluster } from "../engine/engineCluster";
import { LicenseReapplication } from "./licenseReapplication";
import { StageComponent } from "../stages/stageComponent";
import type { StackOutputs } from "../stages/stageOutputs";
import { validatedConfig } from "../stages/validated";

/** What the DR stack reads from production's outputs. */
interface ProductionFacts {
    stack: string;
    serverNames: string[];
    dataRoot: string;
    archive: string;
    /** Production's members on several machines, each archiving on its host (logShipping.archiveSources). */
    archiveSources: ArchiveSource[] | undefined;
    source: pulumi.Output<SourceServer>;
    connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;
}

/**
 * Production's outputs, and its archive: checked here when the site is on this machine; a site on
 * another machine reads it through production's server, so there production must archive at all.
 */
async function readProduction(of: string, productionHost: Pick<Host, "exists"> | undefined): Promise<ProductionFacts> {
    const ref = new pulumi.StackReference(`dr-of-${of.replace(/\//g, "-")}`, { name: of });
    const value = async (name: string) => (await ref.getOutputDetails(name)).value ?? (await ref.getOutputDetails(name)).secretValue;
    const stage = await value("stage");
    if (stage === undefined) {
        throw new pulumi.RunError(`disasterRecovery.of: production stack ${of} has no outputs: bring production up first`);
    }
    if (stage !== "production" || (await value("site")) === "dr") {
        throw new pulumi.RunError(`disasterRecovery.of: ${of} is ${stage === "production" ? "a DR site" : `a ${stage} stage`}, not production`);
    }
    const dataRoot = (await value("dataRoot")) as string;
    const logShipping = (await value("logShipping")) as { archive?: string; archiveSources?: ArchiveSource[] } | undefined;
    const archive = logShipping?.archive ?? path.join(dataRoot, "wal-archive");
    if (productionHost === undefined && logShipping === undefined) {
        throw new pulumi.RunError(`disasterRecovery.of: production ${of} archives no WAL (it has no logShipping output): set shipping on production and bring it up first`);
    }
    if (productionHost !== undefined && !productionHost.exists(archive)) {
        throw new pulumi.RunError(
            `disasterRecovery.of: production ${of} archives no WAL here (${archive} does not exist on this machine): set shipping on production and bring it up first ` +
                "(a production whose server is on another host cannot have a DR site yet)",
        );
    }
    return {
        stack: of,
        serverNames: Object.keys(((await value("servers")) ?? {}) as Record<string, unknown>),
        dataRoot,
        archive,
        archiveSources: logShipping?.archiveSources,
        source: pulumi.secret(ref.getOutput("copySource") as pulumi.Output<SourceServer>),
        connectionStrings: pulumi.secret(ref.getOutput("connectionStrings") as pulumi.Output<Record<DatabaseRole, string>>),
    };
}

/** A DR site's settings: the keys of a stagewise stack file, as typed values, with `disasterRecovery` (`stage` is implied). */
export type DisasterRecoverySiteArgs = DisasterRecoverySiteConfigInput;

/**
 * The DR site of a production stack: production's base backups and shipped WAL kept at the site, its
 * server standing by (warm) or not yet made (cold), and the cutover as code.
 */
export class DisasterRecoverySite extends StageComponent {
    constructor(name: string, args: DisasterRecoverySiteArgs | StageConfig, opts: pulumi.ComponentResourceOptions = {}) {
        const config = validatedConfig("DisasterRecoverySite", name, args, validateDisasterRecoverySite);
        super("stagewise:dr:DisasterRecoverySite", name, opts, (self) => declareDisasterRecovery(self, name, config));
    }
}

/** Where the DR site keeps what it holds, and the cutover it is asked for. */
interface SitePlan {
    serverName: string;
    server: StageConfig["servers"][string];
    /** The address its server listens on (its host's, when on one). */
    address: string;
    /** host:port of the site's server, as URLs write it. */
    hostPort: string;
    binDir: string;
    osUser: string | undefined;
    /** The other machine the site is on. @default this machine */
    machine?: RemoteMachine;
    root: string;
    folders: { backups: string; incoming: string; tail: string; shipper: string; server: string };
    target: RecoveryTarget | null;
}

/** The site's plan, or the refusal of a server named unlike production's or of a cutover that cannot reach its target (before anything changes). */
function planSite(config: StageConfig, production: ProductionFacts, site: SitePlace): SitePlan {
    const [serverName, server] = Object.entries(config.servers)[0];
    if (!production.serverNames.includes(serverName)) {
        throw new pulumi.RunError(
            `servers.${serverName}: a DR site's server is named like production's, as the runbook's standby keeps its server names (production has: ${production.serverNames.join(", ")})`,
        );
    }
    const { binDir, osUser, dataRoot: root, machine } = site;
    const folders = {
        backups: path.join(root, "base-backups"),
        incoming: path.join(root, "wal-incoming"),
        tail: path.join(root, "wal-tail"),
        shipper: path.join(root, "shipper"),
        server: path.join(root, serverName),
    };
    const target = config.cutover ? cutoverTarget(config.cutover) : null;
    // Once made, a cutover is not re-checked.
    if (target && previousCutover(folders.server, machine) === undefined) {
        const refusal = cutoverRefusal(folders.backups, target, new Date(), machine);
        if (refusal !== undefined) {
            throw new pulumi.RunError(`cutover: ${refusal}`);
        }
    }
    const address = machine?.address ?? server.host;
    return { serverName, server, address, hostPort: `${hostForUrl(address)}:${server.port}`, binDir, osUser, ...(machine ? { machine } : {}), root, folders, target };
}

/** Where the site's server lives: on the host it names, or here. */
interface SitePlace {
    binDir: string;
    osUser: string | undefined;
    dataRoot: string;
    machine?: RemoteMachine;
}

function sitePlace(config: StageConfig, stack: string): SitePlace {
    const places = stagePlaces(config, stack);
    const remote = places.hosts?.[Object.values(config.servers)[0].host];
    return remote !== undefined
        ? { binDir: remote.binDir, osUser: remote.osUser, dataRoot: remote.dataRoot, machine: remote.machine }
        : { binDir: places.binDir, osUser: places.osUser, dataRoot: places.dataRoot! }; // the local platform always has one
}

/** The stack outputs of a DR site (the outputs contract, with site: "dr"). */
async function declareDisasterRecovery(site: pulumi.ComponentResource, name: string, config: StageConfig): Promise<StackOutputs> {
    // A DR site runs on this machine (the docker platform's settings do not apply to it).
    const local = config.platform.kind === "local" ? config.platform : ({ kind: "local" } as const);
    const place = sitePlace({ ...config, platform: local }, pulumi.getStack());
    const production = await readProduction(config.disasterRecovery!.of, place.machine ? undefined : hostOf({ binDir: place.binDir, osUser: place.osUser }));
    const plan = planSite(config, production, place);
    return siteOutputs(config, production, plan, declareSiteParts(site, name, config, production, plan));
}

interface SiteParts {
    dataRoot: DataRoot;
    shipping: DrLogShipping;
    backups: BaseBackups;
    drServer: DisasterRecoveryServer;
    licence: LicenseReapplication | undefined;
    engine: EngineCluster | undefined;
    connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;
}

function declareSiteParts(site: pulumi.ComponentResource, name: string, config: StageConfig, production: ProductionFacts, plan: SitePlan): SiteParts {
    const dr = config.disasterRecovery!;
    const { serverName, server, binDir, osUser, folders, target, hostPort } = plan;
    const seconds = (text: string) => Math.round(parseDuration(text)! / 1000);
    const { machine } = plan;
    const dataRoot = new DataRoot(`${name}-data`, { path: plan.root, owner: `${pulumi.getProject()}/${pulumi.getStack()}`, stage: "production", osUser, ...machineInput(plan) }, { parent: site });
    // On another machine the shipper reads production's archive through production's server.
    // With production's members on several machines, the one accepting writes (after a failover, not the server).
    const sources = production.archiveSources ? { sources: production.archiveSources } : {};
    const remote = machine ? { remote: pulumi.secret(production.source.apply((source) => ({ machine, binDir, production: source, ...sources }))) } : {};
    const shipping = new DrLogShipping(
        `${name}-shipping`,
        { from: production.archive, to: folders.incoming, stateDir: folders.shipper, intervalSeconds: seconds(dr.shipInterval), osUser, stopped: target !== null, ...remote },
        { parent: site, dependsOn: [dataRoot] },
    );
    const backups = new BaseBackups(
        `${name}-base-backups`,
        { source: production.source, folder: folders.backups, binDir, osUser, intervalSeconds: seconds(dr.baseBackupInterval), keep: dr.keepBaseBackups, frozen: target !== null, ...machineInput(plan) },
        { parent: site, dependsOn: [dataRoot] },
    );
    const drServer = new DisasterRecoveryServer(
        `${name}-${serverName}`,
        {
            serverName,
            tier: dr.tier,
            binDir,
            serverDir: folders.server,
            host: plan.address,
            port: server.port,
            osUser,
            ...machineInput(plan),
            ...(machine ? { shipperDir: folders.shipper, ...(production.archiveSources ? { archiveSources: production.archiveSources } : {}) } : {}),
            backupsDir: folders.backups,
            incoming: folders.incoming,
            tailFolder: folders.tail,
            archive: production.archive,
            production: production.source,
            // Read here only when the site is here (another machine's folders are not this one's).
            productionDataDir: !machine && production.serverNames.length === 1 ? path.join(production.dataRoot, production.serverNames[0], "pgdata") : "",
            applyDelaySeconds: seconds(dr.applyDelay),
            cutover: target,
        },
        // Once cut over it holds production's data: protected like production's servers.
        { parent: site, dependsOn: [backups, shipping], protect: target !== null },
    );
    const configUrl = pulumi.secret(production.source.apply((s) => `postgresql://postgres:${encodeURIComponent(s.superuserPassword)}@${hostPort}/${config.engine.databases.config}`));
    const tables = [parseQualifiedName(config.engine.tables.server)!, parseQualifiedName(config.engine.tables.licenseKey)!];
    // The DR site's own licence rows, from its configuration (its database arrives only at cutover).
    const licence = target
        ? new LicenseReapplication(
              `${name}-licence`,
              { connection: configUrl, tables, reapply: "cutover", rows: pulumi.secret(pulumi.output(config.licenseKey!)).apply((key) => drLicenceRows(config, serverName, hostPort, key)) },
              { parent: site, dependsOn: [drServer] },
          )
        : undefined;
    const connectionStrings = pulumi.secret(
        production.connectionStrings.apply((cs) => Object.fromEntries(DATABASE_ROLES.map((role) => [role, retarget(cs[role], hostPort)])) as Record<DatabaseRole, string>),
    );
    // The host nodes come on at cutover: the engine's units start on the recovered databases.
    const engine =
        target && Object.keys(config.engine.units).length > 0
            ? new EngineCluster(name, { engine: config.engine, connectionStrings, stage: { dataRootPath: plan.root, servers: { [serverName]: drServer } } }, { parent: site, dependsOn: licence ? [licence] : [] })
            : undefined;
    return { dataRoot, shipping, backups, drServer, licence, engine, connectionStrings };
}

function siteOutputs(config: StageConfig, production: ProductionFacts, plan: SitePlan, parts: SiteParts): StackOutputs {
    const dr = config.disasterRecovery!;
    const { serverName, server } = plan;
    const { drServer, backups, shipping, licence, engine } = parts;
    const placement = (role: DatabaseRole) => ({ server: serverName, name: config.engine.databases[role], host: plan.address, port: server.port });
    const cutoverOutput = plan.target
        ? pulumi.all([drServer.report, licence!.rowsReapplied]).apply(([report, rows]) =>
              report
                  ? { target: report.target, recoveredTo: report.recoveredTo, promotedAt: report.promotedAt, tailOfLog: report.tailOfLog, baseBackup: report.baseBackup, method: report.method, licenceRowsReapplied: rows }
                  : null,
          )
        : null;
    const servers = pulumi
        .all([drServer.state, drServer.running, drServer.serverVersion, drServer.systemIdentifier, drServer.startedAt])
        .apply(([state, running, serverVersion, systemIdentifier, startedAt]) =>
            // Before cutover the site's host nodes are off: no server is published as an endpoint.
            state === "cut over"
                ? { [serverName]: { host: plan.address, port: server.port, endpoint: `${plan.address}:${server.port}`, serverVersion, systemIdentifier, running, startedAt, databases: DATABASE_ROLES.map((r) => config.engine.databases[r]) } }
                : {},
        );
    return {
        outputsVersion: 1,
        stage: "production",
        site: "dr",
        platform: "local",
        dataRoot: parts.dataRoot.path,
        postgresVersion: hostOf(plan).run("postgres", ["--version"]).trim(),
        servers,
        databases: Object.fromEntries(DATABASE_ROLES.map((role) => [role, placement(role)])),
        connectionStrings: parts.connectionStrings,
        locks: {},
        adminObjects: { hash: "", verified: false, objects: {}, held: "a DR site applies no admin objects: they arrive with production's databases at cutover" },
        disasterRecovery: pulumi
            .all([drServer.state, drServer.running, drServer.inRecovery, drServer.replayedTo, backups.backups, shipping.newestShipped, shipping.lastRunAt, shipping.lastError])
            .apply(([state, running, inRecovery, replayedTo, baseBackups, newestShipped, lastRunAt, lastError]) => ({
                of: dr.of,
                tier: dr.tier,
                state,
                // The engine's units stay off until cutover (the runbook), then start on the recovered databases.
                engineUnits: engine ? ("on" as const) : ("off" as const),
                server: { name: serverName, running, inRecovery, replayedTo },
                baseBackups,
                shipping: { from: production.archive, to: plan.folders.incoming, newestShipped, lastRunAt, lastError },
            })),
        cutover: cutoverOutput,
        ...(engine ? { engine: engine.state } : {}),
    };
}

/** A libpq URL pointing at another host:port. */
function retarget(url: string, hostPort: string): string {
    const parsed = new URL(url);
    parsed.host = hostPort;
    return parsed.toString();
}

/** The DR site's own rows of the runbook's two tables, in the reference schema's shape. */
export function drLicenceRows(config: StageConfig, serverName: string, hostPort: string, licenseKey: string): Record<string, Record<string, unknown>[]> {
    const key = (text: string) => {
        const t = parseQualifiedName(text)!;
        return `${t.schema}.${t.table}`; // as LicenseReapplication names its tables
    };
    // Fixed: the rows are data of the configuration, so an unchanged configuration never shows as a change.
    const updatedAt = "1970-01-01T00:00:00+00:00";
    return {
        [key(config.engine.tables.server)]: [{ ServerName: serverName, HostName: hostPort, Role: "primary", UpdatedAt: updatedAt }],
        [key(config.engine.tables.licenseKey)]: [{ ServerName: serverName, LicenseKey: licenseKey, ValidUntil: null, UpdatedAt: updatedAt }],
    };
}
