// WarmStandbys: production's warm standbys — each a copy of the primary in continuous recovery from
// the WAL LogShipping ships into its incoming folder, applying it after its apply delay
// (standbys.<name>.applyDelay, else shipping.applyDelay) and moving applied WAL aside.
import * as pulumi from "@pulumi/pulumi";
import { membersOf, StageTopology } from "../../topology/topology";
import { LogShipping } from "../../shipping/logShipping";
import { warmStandbyStatus } from "./warmReplay";
import { WarmStandby } from "./warmStandby";
import type { Stage } from "../../server/stage";
import { machineInput } from "../../server/location";
import { shippingSettings, withApplyDelay } from "../../shipping/schedule";

export interface WarmStandbysArgs {
    readonly stage: Stage;
    /** Production's log shipping, which feeds every warm standby. */
    readonly shipping: LogShipping;
}

/** A warm standby in the `standbys` stack output. */
export interface WarmStandbyState {
    tier: "warm";
    endpoint: string;
    running: boolean;
    inRecovery: boolean;
    /** Commit time of the last transaction it applied. */
    lastReplayedAt: string | null;
    /** Seconds between then and when it was last looked at. */
    lagSeconds: number | null;
    applyDelay: string;
    /** Folder shipped WAL lands in. */
    incoming: string;
}

/** Names of the warm standbys of a stage. */
export function warmStandbyNames(topology: StageTopology): string[] {
    return membersOf(topology, "warm").map((m) => m.name);
}

export class WarmStandbys extends pulumi.ComponentResource {
    public readonly standbys: pulumi.Output<Record<string, WarmStandbyState>>;

    constructor(name: string, args: WarmStandbysArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:standby:WarmStandbys", name, {}, opts);
        const { stage, shipping } = args;
        const primary = Object.values(stage.servers)[0];
        const endpoint = pulumi.all([primary.host, primary.port, primary.superuserPassword]).apply(([host, port, superuserPassword]) => ({ host, port, superuserPassword }));

        const resources = membersOf(stage.topology, "warm").map((spec) => {
            const standbyName = spec.name;
            const applyDelay = spec.applyDelay ?? stage.topology.shipping!.applyDelay;
            const plan = withApplyDelay(shipping.plan, spec.applyDelay);
            if (plan === undefined) {
                throw new pulumi.ResourceError(`standbys.${standbyName}.applyDelay: ${JSON.stringify(spec.applyDelay)} is not a duration of 0s or more`, this);
            }
            const folders = { archive: shipping.archive, ...shipping.foldersOf(standbyName) };
            // The shipping settings come last: they win over the user's (which the schema keeps apart anyway).
            const settings = { ...spec.settings, ...shippingSettings(plan, folders, spec.binDir).standby };
            const resource = new WarmStandby(
                `${name}-${standbyName}`,
                {
                    standbyName,
                    primary: endpoint,
                    binDir: spec.binDir,
                    serverDir: spec.serverDir!,
                    host: spec.host,
                    port: spec.port!,
                    osUser: spec.osUser,
                    ...machineInput(spec),
                    settings,
                },
                // Rebuilt from the primary at any time, so not protected; it needs its shipper running.
                { parent: this, dependsOn: [primary, shipping.job] },
            );
            // Looked at while the program runs: how far it has applied now, not at its last change.
            const live = pulumi.unsecret(
                pulumi.all([endpoint, resource.id]).apply(([p]) =>
                    warmStandbyStatus({
                        loc: { binDir: spec.binDir, serverDir: spec.serverDir!, host: spec.host, port: spec.port!, osUser: spec.osUser, ...(spec.machine ? { machine: spec.machine } : {}) },
                        primary: p,
                        settings,
                    }).catch(() => undefined),
                ),
            );
            return { standbyName, resource, applyDelay, incoming: folders.incoming, live };
        });

        this.standbys = pulumi.all(
            Object.fromEntries(
                resources.map(({ standbyName, resource: r, applyDelay, incoming, live }) => [
                    standbyName,
                    pulumi.all([r.host, r.port, r.running, r.inRecovery, r.lastReplayedAt, r.lagSeconds, live]).apply(([host, port, running, inRecovery, lastReplayedAt, lagSeconds, now]) => ({
                        tier: "warm" as const,
                        endpoint: `${host}:${port}`,
                        running,
                        inRecovery,
                        lastReplayedAt,
                        lagSeconds,
                        ...now, // what the standby says now, when it answers
                        applyDelay,
                        incoming,
                    })),
                ]),
            ),
        );
        this.registerOutputs({ standbys: this.standbys });
    }
}
