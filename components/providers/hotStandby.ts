// HotStandby: a streaming-replication standby of a production server (platform/standby.ts), with a
// replication slot on the primary so it never misses WAL, read-only queries allowed.
import * as pulumi from "@pulumi/pulumi";
import * as cluster from "../platform/cluster";
import { assertPortFree } from "../platform/ports";
import * as standby from "../platform/standby";
import { changedKnown, sameData } from "./diffs";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface HotStandbyArgs {
    /** The standby's stable name. */
    readonly standbyName: pulumi.Input<string>;
    /** The primary (a secret: it carries the superuser password replication uses). */
    readonly primary: pulumi.Input<standby.PrimaryEndpoint>;
    readonly binDir: pulumi.Input<string>;
    /** Folder of the standby (its data directory is `pgdata/` inside). */
    readonly serverDir: pulumi.Input<string>;
    readonly host: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    readonly osUser?: pulumi.Input<string>;
    /** postgresql.conf settings of the standby. @default {} */
    readonly settings?: pulumi.Input<Record<string, string>>;
}

interface StandbyInputs {
    standbyName: string;
    primary: standby.PrimaryEndpoint;
    binDir: string;
    serverDir: string;
    host: string;
    port: number;
    osUser?: string;
    settings: Record<string, string>;
    providerVersion: string;
}

interface StandbyOutputs extends StandbyInputs {
    slot: string;
    running: boolean;
    inRecovery: boolean;
    streaming: boolean;
    /** WAL not yet replayed by the standby when last looked at, in bytes. */
    lagBytes: number | null;
}

function specOf(props: StandbyInputs): standby.HotStandbySpec {
    return {
        loc: cluster.locationOf(props),
        primary: props.primary,
        slot: `stagewise_${props.standbyName.replace(/-/g, "_")}`,
        settings: props.settings,
    };
}

async function observed(props: StandbyInputs): Promise<StandbyOutputs> {
    const spec = specOf(props);
    const status = await standby.standbyStatus(spec);
    return { ...props, slot: spec.slot, ...status };
}

const hotStandbyProvider: pulumi.dynamic.ResourceProvider<StandbyInputs, StandbyOutputs> = {
    async check(_olds, news) {
        return { inputs: { ...news, settings: news.settings ?? {} }, failures: [] };
    },
    async diff(_id, olds, news) {
        const replaces: string[] = changedKnown(olds, news, ["serverDir", "port", "standbyName", "osUser"] as const);
        const primaryMoved =
            typeof news.primary === "object" && (olds.primary.host !== news.primary.host || olds.primary.port !== news.primary.port);
        if (primaryMoved) {
            replaces.push("primary");
        }
        // Drift: a standby that stopped or stopped streaming shows in every preview; `up` starts it.
        const live = await standby.standbyStatus(specOf(olds)).catch(() => undefined);
        const drifted = !live?.running || !live.streaming;
        const changes = replaces.length > 0 || drifted || !sameData(olds.settings, news.settings) || olds.providerVersion !== news.providerVersion;
        return { changes, replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        const fs = require("fs") as typeof import("fs");
        const spec = specOf(inputs);
        if (fs.existsSync(inputs.serverDir) && fs.readdirSync(inputs.serverDir).length > 0) {
            throw new Error(`${inputs.serverDir} already exists and is not this standby; refusing to overwrite or delete it (move it away, or choose another data root)`);
        }
        await assertPortFree(inputs.host, inputs.port, `standbys.${inputs.standbyName}.port`, `standby ${inputs.standbyName}`);
        // The engine shows a dynamic provider's output lines as they come: pg_basebackup's progress.
        await standby.createHotStandby(spec, (line) => console.log(`standby ${inputs.standbyName}: ${line}`));
        return { id: inputs.serverDir, outs: await observed(inputs) };
    },
    async read(id, props) {
        if (props === undefined || cluster.clusterStatus(specOf(props).loc) === "missing") {
            return {};
        }
        return { id, props: await observed(props).catch(() => ({ ...props, running: false, streaming: false })) };
    },
    async update(_id, olds, news) {
        const spec = specOf(news);
        if (cluster.clusterStatus(spec.loc) !== "running") {
            cluster.writeSettings(spec.loc, { ...news.settings, hot_standby: "on", hot_standby_feedback: "on" });
            cluster.startCluster(spec.loc);
        } else if (!sameData(olds.settings, news.settings)) {
            await cluster.applySettings(spec.loc, news.primary.superuserPassword, { ...news.settings, hot_standby: "on", hot_standby_feedback: "on" });
        }
        return { outs: await observed(news) };
    },
    async delete(_id, props) {
        await standby.removeHotStandby(specOf(props));
    },
};

/** A hot standby of a production server. */
export class HotStandby extends pulumi.dynamic.Resource {
    declare public readonly host: pulumi.Output<string>;
    declare public readonly port: pulumi.Output<number>;
    declare public readonly slot: pulumi.Output<string>;
    declare public readonly running: pulumi.Output<boolean>;
    declare public readonly streaming: pulumi.Output<boolean>;
    declare public readonly lagBytes: pulumi.Output<number | null>;

    constructor(name: string, args: HotStandbyArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            hotStandbyProvider,
            name,
            {
                ...args,
                primary: pulumi.secret(args.primary),
                osUser: args.osUser,
                providerVersion: PROVIDER_VERSION,
                slot: undefined,
                running: undefined,
                inRecovery: undefined,
                streaming: undefined,
                lagBytes: undefined,
            },
            opts,
            "stagewise",
            "HotStandby",
        );
    }
}
