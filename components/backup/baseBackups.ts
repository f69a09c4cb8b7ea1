// BaseBackups: scheduled base backups of a production server (the runbook's scheduled backups of a
// cold standby, and the DR site's starting points): one when created, another on any `up` that finds
// the newest older than the interval, the newest N kept, each checked with pg_verifybackup.
import { backupsLocation, listBaseBackups, pruneBaseBackups, takeBaseBackup } from "./pitrBackups";
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { machineMoved } from "../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface BackupSource {
    host: string;
    port: number;
    superuserPassword: string;
}

export interface BaseBackupsArgs extends ArgsOf<BackupsInputs> {}

export interface BackupsInputs {
    /** The server backed up (a secret: it carries the superuser password). */
    source: BackupSource;
    /** Folder of the backups. */
    folder: string;
    binDir: string;
    osUser?: string;
    /** A new backup when the newest is older than this many seconds. */
    intervalSeconds: number;
    /** How many to keep. */
    keep: number;
    /** No new backups and no pruning (a DR site at cutover must keep the backups it recovers from). @default false */
    frozen?: boolean;
    /** The machine of the folder (pg_basebackup runs there; a secret: it holds the private key). @default this machine */
    machine?: RemoteMachine;
    providerVersion: string;
}

export interface BaseBackupSummary {
    id: string;
    finishedAt: string;
    bytes: number;
    verified: boolean;
    startLsn: string;
    endLsn: string;
}

export interface BackupsOutputs extends BackupsInputs {
    backups: BaseBackupSummary[];
}

function summaries(folder: string, machine: RemoteMachine | undefined): BaseBackupSummary[] {
    return listBaseBackups(folder, machine).map(({ id, finishedAt, bytes, verified, startLsn, endLsn }) => ({ id, finishedAt, bytes, verified, startLsn, endLsn }));
}

function due(inputs: BackupsInputs): boolean {
    if (inputs.frozen) {
        return false;
    }
    const newest = summaries(inputs.folder, inputs.machine).pop();
    return newest === undefined || Date.now() - Date.parse(newest.finishedAt) > inputs.intervalSeconds * 1000;
}

async function takeIfDue(inputs: BackupsInputs): Promise<BackupsOutputs> {
    if (due(inputs)) {
        const loc = backupsLocation(inputs.binDir, inputs.folder, inputs.osUser, inputs.machine);
        const backup = await takeBaseBackup(loc, inputs.source, (line) => console.log(`base backup: ${line}`));
        console.log(`base backup ${backup.id}: ${backup.bytes} bytes, WAL ${backup.startLsn}..${backup.endLsn}, verified`);
    }
    if (!inputs.frozen) {
        pruneBaseBackups(inputs.folder, inputs.keep, inputs.machine);
    }
    return { ...inputs, backups: summaries(inputs.folder, inputs.machine) };
}

const baseBackupsMethods: CrudMethods<BackupsInputs, BackupsOutputs> = {
    async create(inputs) {
        return { id: inputs.folder, outs: await takeIfDue(inputs) };
    },
    async read(id, props) {
        return props === undefined ? {} : { id, props: { ...props, backups: summaries(props.folder, props.machine) } };
    },
    async update(_id, _olds, news) {
        return { outs: await takeIfDue(news) };
    },
    async delete(id, props) {
        hostOf({ binDir: props.binDir, osUser: props.osUser, machine: props.machine }).remove(id);
    },
};

export const baseBackups = defineResource<BackupsInputs, BackupsOutputs>(
    {
        module: "stagewise", type: "BaseBackups", version: PROVIDER_VERSION,
        replaces: ["folder", "osUser"],
        updates: ["keep", "intervalSeconds", "machine"],
        diffRules: (olds, news) => ({
            changed: [
                ...(Boolean(olds.frozen) !== Boolean(news.frozen) ? ["frozen"] : []), // not given is not frozen
                ...(due(news) ? ["backups"] : []), // the schedule: a backup too old shows as an update in every preview
            ],
            replaced: machineMoved(olds.machine, news.machine) ? ["machine"] : [],
        }),
        deleteBeforeReplace: true,
        secretInputs: ["source", "machine"],
        secretOutputs: ["machine"],
        outputs: ["osUser", "backups"],
    },
    baseBackupsMethods,
);

/** Scheduled, verified base backups of a server. */
export class BaseBackups extends declaredClass<BaseBackupsArgs, BackupsOutputs, "folder" | "backups">(baseBackups) {}
