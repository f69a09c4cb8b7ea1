// WalArchive: the folder production's primary archives WAL into (`<dataRoot>/wal-archive`), owned by
// the servers' OS user, created before the primary starts archiving so the first archive_command
// never fails for want of a folder. It holds production's log backups: protected with production,
// and kept on delete when the primary server is retained.
import * as shipping from "./shipper";
import { hostOf } from "../platform/local";
import { absolutePath, ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface WalArchiveArgs extends ArgsOf<ArchiveInputs, "retain"> {}

export interface ArchiveInputs {
    /** Absolute path of the archive folder. */
    path: string;
    /** The servers' OS user (when deploying as root). @default the deployer */
    osUser?: string;
    /** Keep the folder (and the archived WAL) when the resource is deleted. @default false */
    retain: boolean;
    providerVersion: string;
}

const walArchiveMethods: CrudMethods<ArchiveInputs, ArchiveInputs> = {
    async create(inputs) {
        shipping.ensureFolder(inputs.path, inputs.osUser);
        return { id: inputs.path, outs: inputs };
    },
    async read(id, props) {
        return props === undefined || !hostOf({ binDir: "", osUser: props.osUser }).exists(id) ? {} : { id, props };
    },
    async update(_id, _olds, news) {
        shipping.ensureFolder(news.path, news.osUser);
        return { outs: news };
    },
    async delete(id, props) {
        if (!props.retain) {
            hostOf({ binDir: "", osUser: props.osUser }).remove(id);
        }
    },
};

export const walArchive = defineResource<ArchiveInputs, ArchiveInputs>(
    {
        module: "stagewise", type: "WalArchive", version: PROVIDER_VERSION,
        schema: (z) => z.looseObject({ path: absolutePath(z) }),
        defaults: { retain: false },
        replaces: ["path", "osUser"],
        updates: ["retain"],
        // Drift: a removed archive folder shows in preview, and `up` creates it again.
        diffRules: (olds) => ({ changed: hostOf({ binDir: "", osUser: olds.osUser }).exists(olds.path) ? [] : ["folder"] }),
        deleteBeforeReplace: true,
        outputs: ["osUser"],
    },
    walArchiveMethods,
);

/** The folder production's primary archives WAL into. */
export class WalArchive extends declaredClass<WalArchiveArgs, ArchiveInputs, "path">(walArchive) {}
