// WalArchive: the folder production's primary archives WAL into (`<dataRoot>/wal-archive`), owned by
// the servers' OS user, created before the primary starts archiving so the first archive_command
// never fails for want of a folder. It holds production's log backups: protected with production,
// and kept on delete when the primary server is retained.
import { hostOf } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { machineMoved } from "../providers/diffs";
import { absolutePath, ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface WalArchiveArgs extends ArgsOf<ArchiveInputs, "retain"> {}

export interface ArchiveInputs {
    /** Absolute path of the archive folder. */
    path: string;
    /** The servers' OS user (when deploying as root). @default the deployer */
    osUser?: string;
    /** The primary's other machine, over SSH (a secret: it holds the private key). @default this machine */
    machine?: RemoteMachine;
    /** Keep the folder (and the archived WAL) when the resource is deleted. @default false */
    retain: boolean;
    providerVersion: string;
}

/** The archive's host (no PostgreSQL program runs there for it). */
const hostFor = (props: Pick<ArchiveInputs, "osUser" | "machine">) => hostOf({ binDir: "", osUser: props.osUser, machine: props.machine });

const walArchiveMethods: CrudMethods<ArchiveInputs, ArchiveInputs> = {
    async create(inputs) {
        hostFor(inputs).makeFolder(inputs.path, { mode: 0o700 });
        return { id: inputs.path, outs: inputs };
    },
    async read(id, props) {
        return props === undefined || !hostFor(props).exists(id) ? {} : { id, props };
    },
    async update(_id, _olds, news) {
        hostFor(news).makeFolder(news.path, { mode: 0o700 });
        return { outs: news };
    },
    async delete(id, props) {
        if (!props.retain) {
            hostFor(props).remove(id);
        }
    },
};

export const walArchive = defineResource<ArchiveInputs, ArchiveInputs>(
    {
        module: "stagewise", type: "WalArchive", version: PROVIDER_VERSION,
        schema: (z) => z.looseObject({ path: absolutePath(z) }),
        defaults: { retain: false },
        replaces: ["path", "osUser"],
        updates: ["retain", "machine"],
        // Drift: a removed archive folder shows in preview, and `up` creates it again.
        diffRules: (olds, news) => ({
            changed: hostFor({ osUser: olds.osUser, machine: news.machine }).exists(olds.path) ? [] : ["folder"],
            replaced: machineMoved(olds.machine, news.machine) ? ["machine"] : [],
        }),
        deleteBeforeReplace: true,
        secretInputs: ["machine"],
        secretOutputs: ["machine"],
        outputs: ["osUser"],
    },
    walArchiveMethods,
);

/** The folder production's primary archives WAL into. */
export class WalArchive extends declaredClass<WalArchiveArgs, ArchiveInputs, "path">(walArchive) {}
