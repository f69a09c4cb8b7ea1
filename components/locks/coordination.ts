// Coordination: the first runbook's administrative locks and lock bindings for one stage. A staging
// stage finds production through a StackReference to its outputs, binds each of its servers there,
// and takes its locks there; production takes its own locks and reports who is bound to it.
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseRole } from "../engine/referenceSchema";
import type { StageConfig } from "../config/config";
import { DatabaseCopy } from "../copy/databaseCopy";
import { AdministrativeLock, BindingRegistry, LockBinding } from "./lockResources";
import { ProductionReference } from "../references";
import { machineInput } from "../server/location";
import { Stage } from "../server/stage";

export interface CoordinationArgs {
    /** The administrative locks the stage takes, by scope. @default {} */
    readonly locks?: StageConfig["locks"];
    /** A staging stage's copy of production's databases (its trigger and wait). @default no copy */
    readonly copy?: StageConfig["copy"];
    readonly stage: Stage;
    /** The stage's connection strings for writers (secret): they wait for production's role change (server/stage.ts writesAfter). */
    readonly connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;
    /** For a staging stage: production, as read from its outputs (references.ts). @default none (production itself, or a staging stage bound to nothing) */
    readonly production?: ProductionReference;
}

export interface HeldLock {
    scope: string;
    holder: string;
    reason: string;
    acquiredAt: string;
}

export interface BoundServer {
    stagingStack: string;
    stagingServer: string;
    stage: string;
    endpoint: string;
}

export class Coordination extends pulumi.ComponentResource {
    /** Locks this stack holds, by scope. */
    public readonly locks: pulumi.Output<Record<string, HeldLock>>;
    /** On production: the staging servers bound to it, as of this `up`. */
    public readonly boundStagingServers?: pulumi.Output<BoundServer[]>;
    /** On a staging stage: the production stack it is bound to. */
    public readonly boundTo?: { stack: string; servers: pulumi.Output<string[]> };
    /** On a staging stage with `copy` configured: the copy of production's databases. */
    public readonly copy?: DatabaseCopy;

    constructor(name: string, args: CoordinationArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:index:Coordination", name, {}, opts);
        const { stage } = args;
        const kind = stage.kind;
        const holder = `${pulumi.getProject()}/${pulumi.getStack()}`;

        let lockedConnection: pulumi.Output<string> | undefined;
        if (kind === "production") {
            lockedConnection = args.connectionStrings.apply((cs) => cs.config);
            const registry = new BindingRegistry(`${name}-bindings`, { connection: lockedConnection }, { parent: this, dependsOn: Object.values(stage.servers) });
            this.boundStagingServers = registry.bindings;
        } else if (args.production !== undefined) {
            lockedConnection = args.production.configConnection;
            const bindings = Object.entries(stage.servers).map(
                ([serverName, server]) =>
                    new LockBinding(
                        `${name}-${serverName}-binding`,
                        {
                            productionConnection: lockedConnection!,
                            stagingStack: holder,
                            stagingServer: serverName,
                            stage: kind,
                            endpoint: pulumi.interpolate`${server.host}:${server.port}`,
                        },
                        { parent: this, dependsOn: [server] },
                    ),
            );
            this.boundTo = { stack: args.production.stack, servers: pulumi.all(bindings.map((b) => b.stagingServer)) };
            if (args.copy !== undefined) {
                this.copy = copyFromProduction(name, this, args.copy, stage, args.production, holder, bindings);
            }
        }

        const held: Record<string, pulumi.Output<HeldLock>> = {};
        for (const [scope, lock] of Object.entries(args.locks ?? {})) {
            // The schema guarantees a locked server exists when locks are declared.
            const resource = new AdministrativeLock(
                `${name}-lock-${scope}`,
                {
                    connection: lockedConnection!,
                    scope,
                    holder,
                    stage: kind,
                    reason: lock.reason,
                    waitSeconds: lock.waitSeconds,
                    breakHeldBy: lock.breakHeldBy,
                },
                { parent: this, dependsOn: Object.values(stage.servers) },
            );
            held[scope] = pulumi.all([resource.holder, resource.reason, resource.acquiredAt]).apply(([h, reason, acquiredAt]) => ({
                scope,
                holder: h,
                reason,
                acquiredAt,
            }));
        }
        this.locks = pulumi.all(held);

        this.registerOutputs({ locks: this.locks, boundStagingServers: this.boundStagingServers, boundTo: this.boundTo, copy: this.copy?.copiedAt });
    }
}

/** The copy of production's engine databases onto the stage's one server (the schema guarantees one). */
function copyFromProduction(
    name: string,
    parent: pulumi.Resource,
    copy: NonNullable<StageConfig["copy"]>,
    stage: Stage,
    production: ProductionReference,
    holder: string,
    after: pulumi.Resource[],
): DatabaseCopy {
    const [serverName, server] = Object.entries(stage.servers)[0];
    const { topology } = stage;
    const member = topology.members[serverName];
    return new DatabaseCopy(
        `${name}-copy`,
        {
            source: production.copySource.apply((source) => {
                if (source === undefined) {
                    throw new pulumi.RunError(`production stack ${production.stack} exports no copySource (its engine databases must live on one server)`);
                }
                return source;
            }),
            lockConnection: production.configConnection,
            holder,
            stage: stage.kind,
            serverName,
            binDir: member.binDir,
            serverDir: member.serverDir!, // copies run on the local platform only (the schema says so)
            host: server.host,
            port: server.port,
            osUser: member.osUser,
            ...machineInput(member),
            settings: { ...member.settings },
            superuserPassword: server.superuserPassword,
            ownerRole: topology.engine.owner,
            ownerPassword: server.applicationPassword,
            databases: Object.values(topology.engine.databases),
            identity: {
                database: topology.engine.databases.config,
                tables: [stage.tables.server, stage.tables.licenseKey],
            },
            trigger: copy.trigger,
            waitSeconds: copy.waitSeconds,
        },
        { parent, dependsOn: [server, ...after] },
    );
}
