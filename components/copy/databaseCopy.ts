// DatabaseCopy: production's engine databases copied onto a staging server (platform/copy.ts) under
// an administrative lock on production. Done on create and again only when `trigger` changes.
import * as cluster from "../postgres/cluster";
import * as copy from "./stagingCopy";
import * as locks from "../locks/lockRows";
import { machineMoved } from "../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";
import type { ServerLocationArgs } from "../server/location";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "2"; // 2: the temporary server's settings file is written by cluster.settingsFileText (managed settings last)

export interface CopySource {
    host: string;
    port: number;
    superuserPassword: string;
}

export interface DatabaseCopyArgs extends ServerLocationArgs, ArgsOf<Omit<CopyInputs, keyof cluster.ClusterLocation>> {}

/** The resolved inputs, the server's location among them. */
export interface CopyInputs extends cluster.ClusterLocation {
    /** Production's server holding the engine databases (a secret: it carries the superuser password). */
    source: CopySource;
    /** libpq URL of production's configuration database, where the copy lock is taken (a secret). */
    lockConnection: string;
    /** `<project>/<stack>` of the staging stack. */
    holder: string;
    stage: string;
    /** The staging server. */
    serverName: string;
    settings: Record<string, string>;
    superuserPassword: string;
    ownerRole: string;
    ownerPassword: string;
    databases: string[];
    /** The staging server's own rows, kept across the copy. */
    identity: { database: string; tables: { schema: string; table: string }[] };
    /** Change it to copy again; the copy is not repeated on every `up`. */
    trigger: string;
    /** Seconds to wait for another holder of production's copy lock. @default 0 */
    waitSeconds?: number;
    providerVersion: string;
}

export interface CopyOutputs extends CopyInputs {
    copiedAt: string;
    bytes: number;
    sourceSystemIdentifier: string;
    identityRowsRestored: number;
    verified: boolean;
    tables: copy.TableFigures[];
}

/** Copies under production's "copy" lock, releasing it after unless this stack held it already. */
async function copyUnderLock(inputs: CopyInputs): Promise<CopyOutputs> {
    const target = cluster.locationOf(inputs);
    const reason = `copy production to ${inputs.serverName} (${inputs.holder})`;
    const heldBefore = await locks.withClient(inputs.lockConnection, async (c) => {
        const before = await locks.currentLock(c, "copy");
        await locks.acquireLock(c, { scope: "copy", holder: inputs.holder, stage: inputs.stage, reason, waitSeconds: inputs.waitSeconds });
        return before?.holder === inputs.holder;
    });
    try {
        const report = await copy.copyDatabases({
            source: inputs.source,
            target,
            targetSuperuserPassword: inputs.superuserPassword,
            targetSettings: inputs.settings,
            ownerRole: inputs.ownerRole,
            ownerPassword: inputs.ownerPassword,
            databases: inputs.databases,
            identity: inputs.identity,
            // The engine shows a dynamic provider's output lines as they come: that is the progress.
            onProgress: (message) => console.log(`copy to ${inputs.serverName}: ${message}`),
        });
        return {
            ...inputs,
            copiedAt: report.finishedAt,
            bytes: report.bytes,
            sourceSystemIdentifier: report.sourceSystemIdentifier,
            identityRowsRestored: report.identityRowsRestored,
            verified: report.verified,
            tables: report.tables,
        };
    } finally {
        if (!heldBefore) {
            await locks.withClient(inputs.lockConnection, (c) => locks.releaseLock(c, "copy", inputs.holder));
        }
    }
}

const databaseCopyMethods: CrudMethods<CopyInputs, CopyOutputs> = {
    async create(inputs) {
        return { id: `${inputs.holder}:${inputs.serverName}`, outs: await copyUnderLock(inputs) };
    },
    async update(_id, olds, news) {
        if (olds.trigger === news.trigger) {
            return { outs: { ...olds, ...news } }; // a new provider version alone copies nothing
        }
        return { outs: await copyUnderLock(news) };
    },
    async delete(_id, props) {
        // The copied databases stay; only an interrupted copy's leftovers are cleared.
        await copy.recoverInterruptedCopy(cluster.locationOf(props));
    },
};

export const databaseCopy = defineResource<CopyInputs, CopyOutputs>(
    {
        module: "stagewise", type: "DatabaseCopy", version: PROVIDER_VERSION,
        // A new server (another folder) is a new target: copy onto it. Otherwise only the trigger counts.
        replaces: ["serverDir"],
        updates: ["trigger", "machine"], // a new key for the same machine: the copy is not repeated
        diffRules: (olds, news) => ({ replaced: machineMoved(olds.machine, news.machine) ? ["machine"] : [] }),
        secretInputs: ["source", "lockConnection", "superuserPassword", "ownerPassword", "machine"],
        outputs: ["copiedAt", "bytes", "sourceSystemIdentifier", "identityRowsRestored", "verified", "tables"],
    },
    databaseCopyMethods,
);

/** Production's engine databases, copied onto a staging server. */
export class DatabaseCopy extends declaredClass<DatabaseCopyArgs, CopyOutputs, "copiedAt" | "bytes" | "verified" | "identityRowsRestored" | "sourceSystemIdentifier" | "tables" | "trigger">(databaseCopy) {}
