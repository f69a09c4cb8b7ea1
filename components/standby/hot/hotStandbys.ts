// Standbys: the standbys of a production server (hot only, so far) and the connection string that
// follows the primary — the modern form of the runbook's IP alias (libpq tries each host and keeps
// the one that accepts writes).
import * as pulumi from "@pulumi/pulumi";
import { DATABASE_ROLES, DatabaseRole } from "../../engine/referenceSchema";
import { HotStandby } from "./hotStandby";
import { PrimaryRole } from "./primaryRole";
import { Stage, StageServer } from "../../server/stage";
import { redirectionRunbook, sameSubnet } from "./redirection";
import { hostForUrl } from "../../postgres/pg";
import { Member, membersOf, StageTopology } from "../../topology/topology";
import type { RemoteMachine } from "../../platform/platform";
import { machineInput } from "../../server/location";

export interface StandbysArgs {
    /** Production's stage: its server, and the topology naming the hot standbys and the declared primary. */
    readonly stage: Stage;
}

export interface StandbyState {
    tier: "hot";
    endpoint: string;
    slot: string;
    running: boolean;
    streaming: boolean;
    lagBytes: number | null;
    /** Declared synchronous. */
    synchronous: boolean;
    /** pg_stat_replication.sync_state on the primary; null while not streaming or when it is the primary. */
    syncState: string | null;
    /** Its declared role in the replication group. */
    role: "primary" | "standby";
}

/** The replication group's primary, as of the last up. */
export interface PrimaryState {
    name: string;
    endpoint: string;
    lastChange: {
        kind: "switchover" | "failover";
        from: string;
        to: string;
        at: string;
        seconds: number;
        checkpointLsn: string | null;
        rejoined: string[];
        needsRebuild: string[];
    } | null;
}

export class Standbys extends pulumi.ComponentResource {
    public readonly standbys: pulumi.Output<Record<string, StandbyState>>;
    /** libpq URLs listing the primary and every standby, with target_session_attrs=read-write (secret). */
    public readonly failoverConnectionStrings: pulumi.Output<Record<DatabaseRole, string>> | undefined;
    /** When the members are on different subnets: the manual redirection steps to the declared primary, instead of failover strings. */
    public readonly redirectionRunbook: string[] | undefined;
    /** The replication group's primary (when the stage has hot standbys). */
    public readonly primary: pulumi.Output<PrimaryState> | undefined;
    /** What owns the role change; everything that writes to production waits for it. */
    public readonly primaryRole: PrimaryRole | undefined;

    constructor(name: string, args: StandbysArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:standby:Standbys", name, {}, opts);
        const { stage } = args;
        const topology = stage.topology;
        // Warm standbys are built by WarmStandbys (components/standby/warm/warmStandbys.ts); they take no part in failover strings.
        const entries = membersOf(topology, "hot");
        const [, primary] = Object.entries(stage.servers)[0];
        // The server first, then the hot standbys in the order the configuration lists them.
        const group = [...membersOf(topology, "server").slice(0, 1), ...entries];

        // The role change comes first: standbys then follow the declared primary (re-pointed, never rebuilt).
        const declared = topology.primary;
        const superuserPassword = primary.superuserPassword;
        const role =
            entries.length > 0
                ? new PrimaryRole(
                      `${name}-primary`,
                      {
                          declared,
                          members: group.map((m) => ({ name: m.name, host: m.host, port: m.port!, serverDir: m.serverDir! })),
                          synchronous: [...topology.synchronous],
                          binDir: stage.postgresBinDir,
                          osUser: stage.osUser,
                          ...remotePlaces(group),
                          superuserPassword,
                      },
                      { parent: this, dependsOn: [primary] },
                  )
                : undefined;
        this.primaryRole = role;
        const upstream = topology.members[declared];

        const resources = entries.map((spec) => {
            const standbyName = spec.name;
            const resource = new HotStandby(
                `${name}-${standbyName}`,
                {
                    standbyName,
                    primary: superuserPassword.apply((password) => ({ host: upstream.host, port: upstream.port!, superuserPassword: password })),
                    role: standbyName === declared ? "primary" : "standby",
                    synchronous: spec.synchronous,
                    binDir: spec.binDir,
                    serverDir: spec.serverDir!,
                    host: spec.host,
                    port: spec.port!,
                    osUser: spec.osUser,
                    ...machineInput(spec),
                    // On one machine a standby does not archive (archive_mode=on); promoted, it archives where the server did.
                    // On several, each member archives on its own host what it receives (always): see topology's shippingOf.
                    // The managed archiving settings come last: they win over the user's (which the schema keeps apart anyway).
                    settings: { ...spec.settings, ...stage.archiving },
                },
                // Rebuilt from the primary at any time, so not protected; it follows the declared primary.
                { parent: this, dependsOn: [primary, ...(role ? [role] : [])] },
            );
            return [standbyName, resource] as const;
        });

        this.standbys = standbysOutput(topology, resources);

        if (role !== undefined) {
            this.primary = pulumi.all([role.primary, role.lastChange]).apply(([acting, lastChange]) => {
                const member = topology.members[acting];
                return { name: acting, endpoint: `${member.host}:${member.port}`, lastChange: lastChange ?? null };
            });
            this.failoverConnectionStrings = failoverStrings(topology, primary, role);
            this.redirectionRunbook = this.failoverConnectionStrings ? undefined : redirectionRunbookOf(topology);
        }
        this.registerOutputs({
            standbys: this.standbys,
            failoverConnectionStrings: this.failoverConnectionStrings,
            redirectionRunbook: this.redirectionRunbook,
            primary: this.primary,
        });
    }
}

/** The PrimaryRole's `places`: the members on other machines, with their places there (a secret); nothing when all are here. */
function remotePlaces(group: Member[]): { places?: pulumi.Output<Record<string, { machine: RemoteMachine; binDir: string; osUser?: string }>> } {
    const remote = group.filter((m) => m.machine !== undefined);
    return remote.length === 0 ? {} : { places: pulumi.secret(Object.fromEntries(remote.map((m) => [m.name, { machine: m.machine!, binDir: m.binDir, ...(m.osUser ? { osUser: m.osUser } : {}) }]))) };
}

/** Each hot standby as the `standbys` output shows it. */
function standbysOutput(topology: StageTopology, resources: (readonly [string, HotStandby])[]): pulumi.Output<Record<string, StandbyState>> {
    const declared = topology.primary;
return pulumi.all(
        Object.fromEntries(
            resources.map(([standbyName, r]) => [
                standbyName,
                pulumi.all([r.host, r.port, r.slot, r.running, r.streaming, r.lagBytes, r.syncState]).apply(([host, port, slot, running, streaming, lagBytes, syncState]) => ({
                    tier: "hot" as const,
                    endpoint: `${host}:${port}`,
                    slot,
                    running,
                    streaming,
                    lagBytes,
                    synchronous: topology.members[standbyName].synchronous,
                    syncState: syncState ?? null,
                    role: standbyName === declared ? ("primary" as const) : ("standby" as const),
                })),
            ]),
        ),
    );
}

/** Clients try the declared primary first; libpq keeps the member that accepts writes (members on one subnet only). */
function failoverStrings(topology: StageTopology, primary: StageServer, role: PrimaryRole): pulumi.Output<Record<DatabaseRole, string>> | undefined {
    const ordered = topology.failoverOrder;
    if (!sameSubnet(ordered.map((m) => m.host))) {
        return undefined;
    }
    const hosts = ordered.map((m) => `${hostForUrl(m.host)}:${m.port}`);
    return pulumi.secret(
        pulumi.all([primary.applicationPassword, role.primary]).apply(
            ([password]) =>
                Object.fromEntries(
                    DATABASE_ROLES.map((dbRole) => [
                        dbRole,
                        `postgresql://${topology.engine.owner}:${encodeURIComponent(password)}@${hosts.join(",")}/${topology.engine.databases[dbRole]}?target_session_attrs=read-write`,
                    ]),
                ) as Record<DatabaseRole, string>,
        ),
    );
}

/** Members on different subnets: what an operator does to move clients (the runbook's redirection). */
function redirectionRunbookOf(topology: StageTopology): string[] {
    const [first, ...others] = topology.failoverOrder;
    return redirectionRunbook(first, others, DATABASE_ROLES.map((r) => topology.engine.databases[r]));
}
