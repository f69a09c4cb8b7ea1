// DataRoot: the folder under which a stage keeps its servers' data directories, claimed for one stack
// by a marker file. A folder that holds anything else, or another stack's servers, is refused: a
// stage never takes over (or later deletes) data it did not create.
import { hostOf, SHARED_DATA_BASE } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { PREPARED_DIR, sweepPrepared } from "./prepared";
import type { z as zod, ZodType } from "zod";
import { ArgsOf, CrudMethods, declaredClass, defineResource, rule } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "4";

export interface DataRootArgs extends ArgsOf<DataRootInputs> {}

export interface DataRootInputs {
    /** Absolute path of the folder. */
    path: string;
    /** Who owns it: `<project>/<stack>`. */
    owner: string;
    /** The stage kind, recorded in the marker for people reading the folder. */
    stage: string;
    /** OS user that must be able to create server folders inside (the servers' user when deploying as root). @default the deployer */
    osUser?: string;
    /** The other machine the folder is on, over SSH. @default the deploying machine */
    machine?: RemoteMachine;
    providerVersion: string;
}

export interface DataRootOutputs extends DataRootInputs {
    /** When the folder was claimed (ISO time). */
    claimedAt: string;
}

/** Name of the marker file that says which stack a folder belongs to. */
export const DATA_ROOT_MARKER = ".stagewise-data-root.json";

/**
 * Why folder `root` cannot be the data root of `owners[0]`, or undefined: it exists and holds files
 * stagewise did not create, or another stack's marker. A folder claimed by one of `owners`, or holding
 * only the clusters the program started preparing (server/prepared.ts), is fine. Nothing read from
 * the folder is quoted but an owner's `<project>/<stack>` name.
 */
function refusalOf(root: string, owners: string[], osUser?: string, machine?: RemoteMachine): string | undefined {
    const host = filesHost(osUser, machine);
    const path = require("path") as typeof import("path");
    const setting = machine ? `hosts.${machine.name}.dataRoot` : "platform.dataRoot";
    const refused = (why: string, remedy: string) => `${setting}: ${root}${machine ? ` on host ${machine.name}` : ""} ${why}; refusing to use it for ${owners[0]} (${remedy.replace(/platform\.dataRoot/g, setting)})`;
    let entries: string[];
    try {
        entries = host.list(root); // [] when it is missing
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        return code === "ENOENT" ? undefined : refused(code === "ENOTDIR" ? "is not a folder" : `cannot be read (${code})`, "choose another platform.dataRoot");
    }
    if (!entries.includes(DATA_ROOT_MARKER)) {
        return entries.some((entry) => entry !== PREPARED_DIR)
            ? refused("already exists and holds files stagewise did not create", "choose another platform.dataRoot, or empty that folder yourself")
            : undefined;
    }
    let owner: unknown;
    try {
        owner = (JSON.parse(host.readText(path.join(root, DATA_ROOT_MARKER))) as { owner?: unknown }).owner;
    } catch {
        owner = undefined;
    }
    if (typeof owner === "string" && owners.includes(owner)) {
        return undefined;
    }
    const named = typeof owner === "string" && /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/.test(owner) ? `stack ${owner}` : "another stack";
    return refused(`belongs to ${named}`, "choose another platform.dataRoot, or destroy that stack first");
}

/** The host of the data root's folder (only files are touched: no program folder). */
function filesHost(osUser: string | undefined, machine?: RemoteMachine) {
    return hostOf({ binDir: "", osUser, machine });
}

/** A folder that is absolute and not the file-system root, and an owner named `<project>/<stack>`. */
function dataRootSchema(z: typeof zod): ZodType {
    return z.looseObject({
        path: z.unknown().superRefine((root, ctx) => {
            const path = require("path") as typeof import("path");
            if (typeof root !== "string" || !path.isAbsolute(root)) {
                ctx.addIssue({ code: "custom", message: `${JSON.stringify(root)} is not an absolute path` });
            } else if (path.resolve(root) === path.parse(root).root) {
                ctx.addIssue({ code: "custom", message: "the file-system root cannot be a data root" });
            }
        }),
        owner: rule(
            z,
            (owner) => typeof owner === "string" && owner.includes("/"),
            (owner) => `${JSON.stringify(owner)} is not "<project>/<stack>"`,
        ),
    });
}

const dataRootMethods: CrudMethods<DataRootInputs, DataRootOutputs> = {
    async create(inputs) {
        const host = filesHost(inputs.osUser, inputs.machine);
        const path = require("path") as typeof import("path");
        const markerPath = path.join(inputs.path, DATA_ROOT_MARKER);
        // As in check: the folder may have changed since.
        const refusal = refusalOf(inputs.path, [inputs.owner], inputs.osUser, inputs.machine);
        if (refusal !== undefined) {
            throw new Error(refusal);
        }
        host.makeFolder(inputs.path, { mode: 0o755, owned: false });
        // Only the owner changes (`chown user`, not the group), as before.
        host.giveToServerUser(inputs.path, { ownerOnly: true });
        const claimedAt = new Date().toISOString();
        const marker = { owner: inputs.owner, stage: inputs.stage, claimedAt };
        // Written whole, then renamed, so a crash never leaves a half-written marker.
        host.writeFile(markerPath, JSON.stringify(marker, null, 2) + "\n", { mode: 0o644, owned: false });
        return { id: inputs.path, outs: { ...inputs, claimedAt } };
    },

    async read(id, props) {
        const path = require("path") as typeof import("path");
        // A missing marker means the folder is gone (or no longer ours): report it so `up` claims it again.
        if (!props || !filesHost(props.osUser, props.machine).exists(path.join(id, DATA_ROOT_MARKER))) {
            return {};
        }
        return { id, props };
    },

    async update(_id, _olds, news) {
        const host = filesHost(news.osUser, news.machine);
        const path = require("path") as typeof import("path");
        const markerPath = path.join(news.path, DATA_ROOT_MARKER);
        const marker = JSON.parse(host.readText(markerPath)) as { claimedAt: string };
        // 0666 before the umask: the mode a plain write gave it.
        host.writeFile(markerPath, JSON.stringify({ owner: news.owner, stage: news.stage, claimedAt: marker.claimedAt }, null, 2) + "\n", { mode: 0o666, owned: false });
        return { outs: { ...news, claimedAt: marker.claimedAt } };
    },

    async delete(id, props) {
        const host = filesHost(props.osUser, props.machine);
        const path = require("path") as typeof import("path");
        const markerPath = path.join(id, DATA_ROOT_MARKER);
        if (!host.exists(markerPath)) {
            return; // already gone
        }
        const marker = JSON.parse(host.readText(markerPath)) as { owner?: string };
        if (marker.owner !== props.owner) {
            return; // claimed by someone else since: not ours to remove
        }
        host.remove(markerPath);
        if (props.machine === undefined) {
            sweepPrepared(id, true); // clusters are prepared ahead on this machine only
        }
        // Only an empty folder goes: anything left inside (a retained server) stays where it is.
        if (host.removeIfEmpty(id)) {
            // A default data root under /var/lib/stagewise/<project>-<hash>/ (platform/local.ts) takes its empty project folder along.
            const projectFolder = path.dirname(id);
            if (path.dirname(projectFolder) === SHARED_DATA_BASE) {
                host.removeIfEmpty(projectFolder);
            }
        }
    },
};

export const dataRoot = defineResource<DataRootInputs, DataRootOutputs>(
    {
        module: "stagewise", type: "DataRoot", version: PROVIDER_VERSION,
        schema: dataRootSchema,
        // Here, not only in create, so that `pulumi preview` refuses it too. The folder this resource
        // already claimed stays its own while it is replaced (a new owner deletes the old claim first).
        refuse: (olds, news) => {
            const refusal = refusalOf(news.path, olds?.path === news.path && olds.owner !== undefined ? [news.owner, olds.owner] : [news.owner], news.osUser, news.machine);
            return refusal === undefined ? [] : [{ property: "path", reason: refusal }];
        },
        replaces: ["path", "owner", "osUser"],
        updates: ["stage", "machine"],
        secretInputs: ["machine"],
        secretOutputs: ["machine"],
        deleteBeforeReplace: true,
        outputs: ["osUser", "claimedAt"],
    },
    dataRootMethods,
);

export const dataRootProvider = dataRoot.provider;


/** The folder under which a stage keeps its servers' data, claimed for one stack. */
export class DataRoot extends declaredClass<DataRootArgs, DataRootOutputs, "path" | "owner" | "claimedAt">(dataRoot) {}
