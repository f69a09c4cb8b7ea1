// BackupPlan: the stage's scheduled backup sets (backup/backupSets.ts) — one at create, another on
// any `up` once the newest is older than the interval, the oldest pruned beyond `keep`; and Restore:
// `restore: { backup }` puts a backup set back (safety backup first, cleanup, rollback on failure).
import * as pulumi from "@pulumi/pulumi";
import * as sets from "./backupSets";
import type { EngineUnitSpec } from "../engine/unitProcesses";
import type { RemoteMachine } from "../platform/platform";
import { CrudMethods, declaredClass, defineResource } from "../providers/kit";

const PROVIDER_VERSION = "1";

/** A server of the stage as the backup needs it (a secret: it carries the superuser password). */
export interface BackupServer {
    name: string;
    binDir: string;
    serverDir: string;
    host: string;
    port: number;
    osUser?: string;
    /** The other machine it runs on (over SSH). @default this machine */
    machine?: RemoteMachine;
    superuserPassword: string;
    databases: string[];
}

export interface PlanInputs {
    setsDir: string;
    /** The machine of the sets folder: the servers' host (a secret: it holds the private key). @default this machine */
    setsMachine?: RemoteMachine;
    mode: sets.BackupMode;
    intervalMs: number;
    keep: number;
    servers: BackupServer[];
    configFiles: string[];
    units: EngineUnitSpec[];
    ownerRole: string;
    /** The safety backup of the last restore: a new restore lists its backups again. */
    afterRestore: string;
    providerVersion: string;
}

export interface BackupListing {
    id: string;
    mode: sets.BackupMode;
    safety: boolean;
    takenAt: string;
    bytes: number;
    verified: boolean;
}

export interface PlanOutputs extends PlanInputs {
    backups: BackupListing[];
}

function serverRefs(servers: BackupServer[]): sets.StageServerRef[] {
    return servers.map((s) => ({
        name: s.name,
        loc: { binDir: s.binDir, serverDir: s.serverDir, host: s.host, port: s.port, osUser: s.osUser, ...(s.machine ? { machine: s.machine } : {}) },
        superuserPassword: s.superuserPassword,
        databases: s.databases,
    }));
}

const listing = (setsDir: string, setsMachine: RemoteMachine | undefined): BackupListing[] =>
    sets.listBackupSets(setsDir, setsMachine).map(({ id, mode, safety, takenAt, bytes, verified }) => ({ id, mode, safety, takenAt, bytes, verified }));

/** The newest scheduled (not safety) backup is older than the interval, or there is none. */
export function backupDue(setsDir: string, setsMachine: RemoteMachine | undefined, intervalMs: number, now = Date.now()): boolean {
    const newest = sets.listBackupSets(setsDir, setsMachine).filter((s) => !s.safety && s.verified).at(-1);
    return newest === undefined || now - Date.parse(newest.finishedAt) > intervalMs;
}

async function takeAndPrune(inputs: PlanInputs): Promise<PlanOutputs> {
    await sets.takeBackupSet({
        setsDir: inputs.setsDir,
        setsMachine: inputs.setsMachine,
        mode: inputs.mode,
        servers: serverRefs(inputs.servers),
        configFiles: inputs.configFiles,
        units: inputs.units,
        ownerRole: inputs.ownerRole,
        onProgress: (line) => console.log(`backup: ${line}`),
    });
    for (const id of sets.pruneBackupSets(inputs.setsDir, inputs.keep, inputs.setsMachine)) {
        console.log(`backup: removed ${id} (keeping the newest ${inputs.keep})`);
    }
    return { ...inputs, backups: listing(inputs.setsDir, inputs.setsMachine) };
}

const backupPlanMethods: CrudMethods<PlanInputs, PlanOutputs> = {
    async create(inputs) {
        return { id: inputs.setsDir, outs: await takeAndPrune(inputs) };
    },
    async read(id, props) {
        return props ? { id, props: { ...props, backups: listing(props.setsDir, props.setsMachine) } } : {};
    },
    async update(_id, _olds, news) {
        return { outs: backupDue(news.setsDir, news.setsMachine, news.intervalMs) ? await takeAndPrune(news) : { ...news, backups: listing(news.setsDir, news.setsMachine) } };
    },
    async delete() {
        // Backups outlive the plan: removing the declaration never deletes them.
    },
};

export const backupPlan = defineResource<PlanInputs, PlanOutputs>(
    {
        module: "stagewise", type: "BackupPlan", version: PROVIDER_VERSION,
        replaces: ["setsDir"],
        updates: ["mode", "intervalMs", "keep", "configFiles", "afterRestore", "setsMachine"],
        // The schedule: a backup set that has become too old shows as an update in every preview.
        diffRules: (olds, news) => ({ changed: backupDue(olds.setsDir, news.setsMachine, news.intervalMs) ? ["backups"] : [] }),
        secretInputs: ["servers", "units", "setsMachine"],
        outputs: ["backups"],
    },
    backupPlanMethods,
);

export interface BackupPlanResourceArgs {
    setsDir: string;
    setsMachine?: pulumi.Input<RemoteMachine>;
    mode: sets.BackupMode;
    intervalMs: number;
    keep: number;
    servers: pulumi.Input<BackupServer[]>;
    configFiles: string[];
    units: pulumi.Input<EngineUnitSpec[]>;
    ownerRole: string;
    /** The safety backup of the restore that came before, if any. */
    afterRestore?: pulumi.Input<string>;
}

export class BackupPlanResource extends declaredClass<BackupPlanResourceArgs, PlanOutputs, "backups">(backupPlan) {
    constructor(name: string, args: BackupPlanResourceArgs, opts?: pulumi.CustomResourceOptions) {
        super(name, { ...args, afterRestore: args.afterRestore ?? "" }, opts);
    }
}

export interface RestoreInputs {
    backup: string;
    setsDir: string;
    setsMachine?: RemoteMachine;
    servers: BackupServer[];
    configFiles: string[];
    units: EngineUnitSpec[];
    ownerRole: string;
    workUrl: string;
    providerVersion: string;
}

export interface RestoreOutputs extends RestoreInputs {
    report: sets.RestoreReport;
}

async function restore(inputs: RestoreInputs): Promise<RestoreOutputs> {
    const report = await sets.restoreBackupSet({
        id: inputs.backup,
        setsDir: inputs.setsDir,
        setsMachine: inputs.setsMachine,
        servers: serverRefs(inputs.servers),
        configFiles: inputs.configFiles,
        units: inputs.units,
        ownerRole: inputs.ownerRole,
        workUrl: inputs.workUrl,
        onProgress: (line) => console.log(`restore: ${line}`),
    });
    return { ...inputs, report };
}

const restoreMethods: CrudMethods<RestoreInputs, RestoreOutputs> = {
    async create(inputs) {
        return { id: `restore-${inputs.backup}`, outs: await restore(inputs) };
    },
    async update(_id, _olds, news) {
        return { outs: await restore(news) };
    },
    async delete() {
        // A restore cannot be undone by forgetting it; its safety backup stays listed.
    },
};

export const restoreDefinition = defineResource<RestoreInputs, RestoreOutputs>(
    {
        module: "stagewise", type: "Restore", version: PROVIDER_VERSION,
        refuse: (_olds, news) => {
            const known = sets.listBackupSets(news.setsDir, news.setsMachine).map((s) => s.id);
            return known.includes(news.backup) ? [] : [{ property: "backup", reason: `backup ${news.backup} does not exist (backups: ${known.join(", ") || "none"})` }];
        },
        // Repeated only when another backup is named; an interrupted restore is rolled back by the next one.
        updates: ["backup"],
        secretInputs: ["servers", "units", "workUrl", "setsMachine"],
        outputs: ["report"],
    },
    restoreMethods,
);

export interface RestoreArgs extends Omit<BackupPlanResourceArgs, "mode" | "intervalMs" | "keep" | "afterRestore"> {
    backup: string;
    workUrl: pulumi.Input<string>;
}

export class Restore extends declaredClass<RestoreArgs, RestoreOutputs, "report">(restoreDefinition) {}
