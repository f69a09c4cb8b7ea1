// LogShipping: production's log shipping as the disaster-recovery runbook lays it out — the primary
// archives WAL at least every log backup interval (Stage sets that up), a LogShippingJob ships it to
// each warm standby's incoming folder every shipping interval, and the outputs say what the schedule
// can lose at worst (with the arithmetic), how old the newest shipped log is, and whether archiving
// fails. A failing archive command is never silent: it is an output, `refresh` shows it on the job,
// and every preview and up warns while production's archiver reports it.
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { formatDuration } from "../config/duration";
import { actingArchiverStatus, ArchiverStatus, shipperStatus } from "./shipper";
import { LogShippingJob, newestShippedAge, receiverFolders, ReceiverPlace } from "./logShippingJob";
import type { Stage } from "../server/stage";
import { ShippingPlan } from "./schedule";

export interface LogShippingArgs {
    /** Production's stage (its primary archives into `stage.walArchive`). */
    readonly stage: Stage;
    /** Names of the standbys that receive shipped WAL (the warm ones). @default [] */
    readonly receivers?: string[];
}

/** The `logShipping` stack output (components/outputs.ts). */
export interface LogShippingState {
    archive: string;
    worstCaseLoss: string;
    worstCaseLossSeconds: number;
    arithmetic: string;
    newestShippedLogAgeSeconds: number | null;
    archiveFailing: boolean;
    lastArchiveError: string | null;
    /** Members on several machines: the members whose archive shippers read, in turn. */
    archiveSources?: { host: string; port: number }[];
}

export class LogShipping extends pulumi.ComponentResource {
    public readonly plan: ShippingPlan;
    /** Folder production's primary archives into. */
    public readonly archive: string;
    public readonly job: LogShippingJob;
    /** Folder holding one folder per receiving standby (on this machine). */
    public readonly receiversDir: string;
    /** The receivers on other machines: where their folders are there. */
    private readonly receiverPlaces: Record<string, ReceiverPlace>;
    public readonly state: pulumi.Output<LogShippingState>;

    constructor(name: string, args: LogShippingArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:standby:LogShipping", name, {}, opts);
        const { stage } = args;
        if (stage.shippingPlan === undefined || stage.walArchive === undefined) {
            throw new pulumi.ResourceError("log shipping needs production's `shipping` configuration (checked against rpo)", this);
        }
        this.plan = stage.shippingPlan;
        this.archive = stage.walArchive.path;
        const receivers = args.receivers ?? [];
        const receiversDir = path.join(stage.dataRootPath, "shipping");
        this.receiversDir = receiversDir;
        // A receiver on a host keeps its shipped WAL in that host's data root, beside its server.
        const receiverPlaces: Record<string, ReceiverPlace> = {};
        for (const name of receivers) {
            const member = stage.topology.members[name];
            if (member?.machine !== undefined) {
                receiverPlaces[name] = { receiversDir: path.posix.join(path.posix.dirname(member.serverDir!), "shipping"), machine: member.machine, binDir: member.binDir, osUser: member.osUser! };
            }
        }
        this.receiverPlaces = receiverPlaces;
        const primary = Object.values(stage.servers)[0];
        const sources = stage.topology.shipping?.archiveSources?.map((s) => ({ host: s.host, port: s.port }));
        const endpoint = pulumi.secret(
            pulumi.all([primary.host, primary.port, primary.superuserPassword]).apply(([host, port, superuserPassword]) => ({ host, port, superuserPassword })),
        );

        this.job = new LogShippingJob(
            `${name}-job`,
            {
                archive: this.archive,
                receiversDir,
                receivers,
                shipIntervalMs: this.plan.shipIntervalMs,
                primary: endpoint,
                osUser: stage.osUser,
                ...(Object.keys(receiverPlaces).length > 0 ? { receiverPlaces: pulumi.secret(receiverPlaces) } : {}),
                ...(sources ? { archiveSources: sources } : {}),
            },
            { parent: this, dependsOn: [primary, stage.walArchive.resource] },
        );

        // Looked at while the program runs (preview and up alike), when production answers: a warning
        // names the failing file, and the outputs carry what was seen now rather than at the job's last change.
        // (No secret in the result: unsecret it, so the output stays readable without --show-secrets.)
        const live = pulumi.unsecret(pulumi.all([endpoint, this.job.id]).apply(async ([p]) => {
            const archiver = await actingArchiverStatus(sources ?? [p], p.superuserPassword);
            if (archiver?.failing) {
                await pulumi.log.warn(`production's WAL archiving is failing: ${archiver.lastError}`, this);
            }
            const states = receivers.map((r) => shipperStatus(receiverFolders(receiverPlaces[r]?.receiversDir ?? receiversDir, r).state, receiverPlaces[r]?.machine));
            const dead = receivers.filter((_r, i) => !states[i].running);
            if (dead.length > 0 && !pulumi.runtime.isDryRun()) {
                await pulumi.log.warn(`log shipping to ${dead.join(", ")} is not running`, this);
            }
            return { archiver, newestShippedLogAgeSeconds: newestShippedAge(states) };
        }));

        const plan = this.plan;
        this.state = pulumi
            .all([live, this.job.archiveFailing, this.job.lastArchiveError, this.job.newestShippedLogAgeSeconds])
            .apply(([seen, jobFailing, jobError, jobAge]) => ({
                ...stateOf(this.archive, plan, seen.archiver, jobFailing, jobError, seen.newestShippedLogAgeSeconds ?? jobAge),
                ...(sources ? { archiveSources: sources } : {}),
            }));
        this.registerOutputs({ state: this.state });
    }

    /** The folders of a receiving standby: where shipped WAL lands and where it moves what it applied. */
    public foldersOf(receiver: string): { incoming: string; applied: string } {
        const { incoming, applied } = receiverFolders(this.receiverPlaces[receiver]?.receiversDir ?? this.receiversDir, receiver);
        return { incoming, applied };
    }
}

function stateOf(
    archive: string,
    plan: ShippingPlan,
    archiver: ArchiverStatus | undefined,
    jobFailing: boolean,
    jobError: string | null,
    newestShippedLogAgeSeconds: number | null,
): LogShippingState {
    return {
        archive,
        worstCaseLoss: formatDuration(plan.worstCaseLossMs),
        worstCaseLossSeconds: plan.worstCaseLossMs / 1000,
        arithmetic: `worst-case data loss = log backup interval + shipping interval = ${plan.arithmetic} (rpo)`,
        newestShippedLogAgeSeconds,
        archiveFailing: archiver ? archiver.failing : jobFailing,
        lastArchiveError: archiver ? archiver.lastError : jobError,
    };
}
