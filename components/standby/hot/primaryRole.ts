// PrimaryRole: which member of production's replication group (its server and hot standbys) is the
// primary, as a resource. Changing the declared primary and running `up` performs a planned
// switchover when the current primary accepts connections (no commit lost), a failover otherwise;
// the servers and standbys themselves never change roles. It also owns synchronous_standby_names,
// which follows the primary. The work is in standby/hot/switchover.ts.
import type { ClusterLocation } from "../../postgres/cluster";
import type { RemoteMachine } from "../../platform/platform";
import * as switchover from "./switchover";
import { UNKNOWN } from "../../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface GroupMember {
    name: string;
    host: string;
    port: number;
    serverDir: string;
}

export interface PrimaryRoleArgs extends ArgsOf<RoleInputs> {}

export interface RoleInputs {
    /** The member that must be the primary. */
    declared: string;
    /** Every member, the server first. */
    members: GroupMember[];
    /** Standbys the primary waits for on commit (synchronous_standby_names). */
    synchronous: string[];
    binDir: string;
    osUser?: string;
    /** Members on other machines: their machine and the places there (a secret: it holds the private keys). @default none */
    places?: Record<string, { machine: RemoteMachine; binDir: string; osUser?: string }>;
    /** The group's superuser password (one cluster, one password). */
    superuserPassword: string;
    providerVersion: string;
}

export interface RoleOutputs extends RoleInputs {
    /** The member that is the primary after the last up. */
    primary: string;
    /** The last role change this resource made. */
    lastChange: (switchover.RoleChange & { at: string }) | null;
    /** The primary's pg_stat_replication, by member name, as of the last up. */
    replication: Record<string, switchover.ReplicaState>;
}

function memberOf(inputs: RoleInputs, name: string): switchover.Member {
    const m = inputs.members.find((x) => x.name === name);
    if (m === undefined) {
        throw new Error(`${name} is not a member of the replication group (members: ${inputs.members.map((x) => x.name).join(", ")})`);
    }
    const remote = inputs.places?.[name];
    const loc: ClusterLocation = remote
        ? { binDir: remote.binDir, serverDir: m.serverDir, host: m.host, port: m.port, osUser: remote.osUser, machine: remote.machine }
        : { binDir: inputs.binDir, serverDir: m.serverDir, host: m.host, port: m.port, osUser: inputs.osUser };
    return { name, loc };
}

/** The members that accept writes now (a member on a lost host is not asked). */
async function writableMembers(inputs: RoleInputs): Promise<string[]> {
    const roles = await Promise.all(
        inputs.members.map((m) => {
            const member = memberOf(inputs, m.name);
            return switchover.isOnLostHost(member) ? "down" : switchover.roleOf(member.loc, inputs.superuserPassword);
        }),
    );
    return inputs.members.filter((_, i) => roles[i] === "primary").map((m) => m.name);
}

/** The members whose host is declared lost in these places. */
export function lostMembers(places: RoleInputs["places"]): string[] {
    return Object.entries(places ?? {})
        .filter(([, place]) => place.machine.lost === true)
        .map(([name]) => name)
        .sort();
}

/**
 * Makes the declared member the primary (when it is not), applies synchronous_standby_names, and
 * observes. `wereLost` were on lost hosts at the last up: one writable again beside the declared
 * primary is a former primary left as it was when its host was lost, and is rejoined as a standby.
 */
async function converge(inputs: RoleInputs, recordedPrimary: string | undefined, previous: RoleOutputs["lastChange"], wereLost: string[] = []): Promise<RoleOutputs> {
    const log = (line: string) => console.log(`primary: ${line}`);
    const lost = lostMembers(inputs.places);
    let writableNow = await writableMembers(inputs);
    const stalePrimaries = recordedPrimary === inputs.declared && writableNow.includes(inputs.declared) ? writableNow.filter((name) => name !== inputs.declared && wereLost.includes(name)) : [];
    if (stalePrimaries.length > 0) {
        for (const stale of stalePrimaries) {
            log(`${stale} accepts writes again now that its host is back: it is a former primary left as it was; rejoining it as a standby of ${inputs.declared} (pg_rewind discards anything written to it after the failover)`);
            // Stopped when it cannot rejoin (e.g. its WAL since the fork point recycled): the split brain ends either way.
            await switchover.rejoinOrStop(memberOf(inputs, stale), memberOf(inputs, inputs.declared).loc, inputs.superuserPassword, {
                rewind: true,
                onProgress: log,
                staleSlots: inputs.members.map((m) => m.name),
            });
        }
        writableNow = await writableMembers(inputs);
    }
    const writable = writableNow[0];
    // The recorded primary counts unless another member has become writable since (a change by hand).
    const current = writable ?? recordedPrimary ?? inputs.members[0].name;
    let lastChange = previous;
    // Nothing waits on commit for a standby whose host is lost: writes would hang until it is back.
    const synchronous = inputs.synchronous.filter((name) => !lost.includes(name));
    for (const name of inputs.synchronous.filter((n) => lost.includes(n))) {
        log(`${name} is on a host declared lost: the primary does not wait for it on commit until it is back`);
    }
    if (current !== inputs.declared) {
        const others = inputs.members.filter((m) => m.name !== current && m.name !== inputs.declared).map((m) => memberOf(inputs, m.name));
        const change = await switchover.changePrimary(
            memberOf(inputs, current),
            memberOf(inputs, inputs.declared),
            others,
            inputs.superuserPassword,
            synchronous,
            log,
        );
        lastChange = { ...change, at: new Date().toISOString() };
        log(`${change.kind} ${change.from} -> ${change.to} done in ${change.seconds.toFixed(1)} s` + (change.needsRebuild.length ? `; needs a rebuild: ${change.needsRebuild.join(", ")}` : ""));
    }
    const primary = memberOf(inputs, inputs.declared);
    await switchover.applySynchronousNames(primary.loc, inputs.superuserPassword, synchronous);
    const replication = await observe({ ...inputs, synchronous });
    return { ...inputs, primary: inputs.declared, lastChange, replication };
}

async function observe(inputs: RoleInputs): Promise<Record<string, switchover.ReplicaState>> {
    const primary = memberOf(inputs, inputs.declared);
    // Synchronous standbys show as "sync" once they have confirmed a flush: wait briefly for that.
    for (let i = 0; ; i++) {
        const states = await switchover.replicationStates(primary.loc, inputs.superuserPassword);
        const settled = inputs.synchronous.every((name) => states[name]?.syncState === "sync");
        if (settled || i >= 50) {
            return states;
        }
        await new Promise((r) => setTimeout(r, 100));
    }
}

const primaryRoleMethods: CrudMethods<RoleInputs, RoleOutputs> = {
    async create(inputs) {
        return { id: `primary-${inputs.members[0].serverDir}`, outs: await converge(inputs, undefined, null) };
    },

    async read(id, props) {
        if (props === undefined) {
            return {};
        }
        const replication = await observe(props).catch(() => props.replication);
        return { id, props: { ...props, replication } };
    },

    async update(_id, olds, news) {
        return { outs: await converge(news, olds.primary, olds.lastChange, lostMembers(olds.places)) };
    },

    async delete(_id, props) {
        // Nothing waits for a standby that is about to go: the acting primary stops listing any.
        const primary = memberOf(props, props.primary);
        if (switchover.acceptsConnections(primary.loc)) {
            await switchover.applySynchronousNames(primary.loc, props.superuserPassword, []).catch(() => undefined);
        }
    },
};

export const primaryRole = defineResource<RoleInputs, RoleOutputs>(
    {
        module: "stagewise", type: "PrimaryRole", version: PROVIDER_VERSION,
        schema: (z) =>
            z.looseObject({}).superRefine((inputs, ctx) => {
                const { declared, members } = inputs as Partial<RoleInputs>;
                if (!Array.isArray(members)) {
                    return; // not known yet
                }
                const names = members.map((m) => m.name);
                if (typeof declared === "string" && !names.includes(declared)) {
                    ctx.addIssue({ code: "custom", path: ["declared"], message: `${JSON.stringify(declared)} is not a member (members: ${names.join(", ")})` });
                }
            }),
        defaults: { synchronous: [] },
        updates: ["declared", "binDir", "osUser", "superuserPassword", "members", "synchronous"],
        // Given only with members on hosts (stacks deployed before hosts existed have none in their state).
        whenGiven: ["places"],
        // `declared` differs from the acting primary after a failed role change too: `up` tries again.
        diffRules: (olds, news, found) => ({
            changed: [
                ...(news.declared !== olds.primary && news.declared !== UNKNOWN && !found.changed.includes("declared") ? ["declared"] : []),
                // A host declared lost, or back: its members leave or rejoin the group.
                ...((news.places as unknown) !== UNKNOWN && lostMembers(olds.places).join() !== lostMembers(news.places).join() ? ["places"] : []),
            ],
        }),
        secretInputs: ["superuserPassword", "places"],
        secretOutputs: ["places"],
        outputs: ["osUser", "primary", "lastChange", "replication"],
    },
    primaryRoleMethods,
);

/** Which member of production's replication group is the primary. */
export class PrimaryRole extends declaredClass<PrimaryRoleArgs, RoleOutputs, "primary" | "lastChange" | "replication">(primaryRole) {}
