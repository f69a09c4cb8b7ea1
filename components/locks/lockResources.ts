// Dynamic providers for the two-stage runbook's coordination records, kept in a server's
// configuration database (locks/lockRows.ts): AdministrativeLock, LockBinding and, on production,
// BindingRegistry, which reports the staging servers bound to it.
import type { Client } from "pg";
import * as locks from "./lockRows";
import { sameData, UNKNOWN } from "../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource, rule } from "../providers/kit";

/** Bumped whenever these providers' behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

/** A record kept in a configuration database, as a resource's create/read/update/delete see it. */
interface KeptRecord<In extends object, Out extends In> {
    connection: (props: In) => string;
    id: (inputs: In) => string;
    /** Writes the record (on create and update); the outputs it adds to the inputs. */
    write: (c: Client, inputs: In) => Promise<Omit<Out, keyof In>>;
    /** The outputs of the record found again, or undefined when it is gone. */
    find: (c: Client, props: Out) => Promise<Omit<Out, keyof In> | undefined>;
    remove: (c: Client, props: Out) => Promise<unknown>;
}

/**
 * The methods of a record resource: written on create and update, removed on delete; on read, a record
 * gone behind our back means the resource is gone (and `up` writes it again), and a database out of
 * reach keeps what we know.
 */
function recordMethods<In extends object, Out extends In>(record: KeptRecord<In, Out>): CrudMethods<In, Out> {
    return {
        async create(inputs) {
            const written = await locks.withClient(record.connection(inputs), (c) => record.write(c, inputs));
            return { id: record.id(inputs), outs: { ...inputs, ...written } as Out };
        },
        async read(id, props) {
            if (props === undefined) {
                return {};
            }
            let found: Omit<Out, keyof In> | undefined;
            try {
                found = await locks.withClient(record.connection(props), (c) => record.find(c, props));
            } catch {
                return { id, props }; // production cannot be reached: keep what we know
            }
            return found ? { id, props: { ...props, ...found } } : {};
        },
        async update(_id, _olds, news) {
            const written = await locks.withClient(record.connection(news), (c) => record.write(c, news));
            return { outs: { ...news, ...written } as Out };
        },
        async delete(_id, props) {
            await locks.withClient(record.connection(props), (c) => record.remove(c, props));
        },
    };
}

// ---------------------------------------------------------------------------------------------
// AdministrativeLock

export interface AdministrativeLockArgs extends ArgsOf<LockInputs> {}

/** The lock request (holder, waitSeconds, breakHeldBy as lockRows.ts documents them) and where the lock is kept. */
export interface LockInputs extends locks.LockRequest {
    /** libpq URL of the locked server's configuration database (a secret). */
    connection: string;
    /** What is locked, e.g. "copy"; one holder per scope and server. */
    scope: string;
    /** The holder's stage kind. */
    stage: string;
    /** Why, for whoever finds the lock. */
    reason: string;
    providerVersion: string;
}

export interface LockOutputs extends LockInputs {
    acquiredAt: string;
}

const lockMethods = recordMethods<LockInputs, LockOutputs>({
    connection: (props) => props.connection,
    id: (inputs) => `${inputs.scope}:${inputs.holder}`,
    write: async (c, inputs) => ({ acquiredAt: (await locks.acquireLock(c, inputs)).acquiredAt }),
    find: async (c, props) => {
        const held = await locks.currentLock(c, props.scope);
        // Released or broken behind our back: the lock no longer exists, and `up` takes it again.
        return held?.holder === props.holder ? { acquiredAt: held.acquiredAt } : undefined;
    },
    remove: (c, props) => locks.releaseLock(c, props.scope, props.holder),
});

export const administrativeLock = defineResource<LockInputs, LockOutputs>(
    {
        module: "stagewise", type: "AdministrativeLock", version: PROVIDER_VERSION,
        schema: (z) =>
            z.looseObject({
                scope: rule(
                    z,
                    (scope) => /^[a-z][a-z0-9_-]{0,62}$/.test(String(scope)),
                    (scope) => `${JSON.stringify(scope)} is not a lock scope (lower-case letters, digits, _ and -)`,
                ),
                waitSeconds: rule(
                    z,
                    (wait = 0) => Number.isInteger(wait) && (wait as number) >= 0 && (wait as number) <= 3600,
                    (wait = 0) => `${JSON.stringify(wait)} is not a whole number of seconds from 0 to 3600`,
                ),
            }),
        replaces: ["connection", "scope", "holder"],
        updates: ["reason", "stage"],
        // A lock must be released before it is taken anew, or the new one would wait on the old.
        deleteBeforeReplace: true,
        secretInputs: ["connection"],
        outputs: ["acquiredAt"],
    },
    lockMethods,
);

/** An administrative lock on a server, held by this stack for as long as the resource exists. */
export class AdministrativeLock extends declaredClass<AdministrativeLockArgs, LockOutputs, "scope" | "holder" | "reason" | "acquiredAt">(administrativeLock) {}

// ---------------------------------------------------------------------------------------------
// LockBinding

export interface LockBindingArgs extends ArgsOf<BindingInputs> {}

export interface BindingInputs {
    /** libpq URL of production's configuration database (a secret). */
    productionConnection: string;
    /** `<project>/<stack>` of the staging stack. */
    stagingStack: string;
    /** The staging server bound to production. */
    stagingServer: string;
    /** The staging stage kind (test or development). */
    stage: string;
    /** "host:port" of the staging server. */
    endpoint: string;
    providerVersion: string;
}

export interface BindingOutputs extends BindingInputs {
    boundAt: string;
}

const bindingMethods = recordMethods<BindingInputs, BindingOutputs>({
    connection: (props) => props.productionConnection,
    id: (inputs) => `${inputs.stagingStack}:${inputs.stagingServer}`,
    write: async (c, inputs) => ({ boundAt: (await locks.bind(c, inputs)).boundAt }),
    find: async (c, props) => {
        const mine = (await locks.listBindings(c)).find((b) => b.stagingStack === props.stagingStack && b.stagingServer === props.stagingServer);
        return mine ? { boundAt: mine.boundAt } : undefined;
    },
    remove: (c, props) => locks.unbind(c, props.stagingStack, props.stagingServer),
});

export const lockBinding = defineResource<BindingInputs, BindingOutputs>(
    {
        module: "stagewise", type: "LockBinding", version: PROVIDER_VERSION,
        replaces: ["productionConnection", "stagingStack", "stagingServer"],
        updates: ["endpoint", "stage"],
        deleteBeforeReplace: true,
        secretInputs: ["productionConnection"],
        outputs: ["boundAt"],
    },
    bindingMethods,
);

/** The record on production that a staging server is bound to it. */
export class LockBinding extends declaredClass<LockBindingArgs, BindingOutputs, "stagingServer" | "boundAt">(lockBinding) {}

// ---------------------------------------------------------------------------------------------
// BindingRegistry

export interface BindingRegistryArgs extends ArgsOf<RegistryInputs> {}

export interface RegistryInputs {
    /** libpq URL of production's own configuration database (a secret). */
    connection: string;
    providerVersion: string;
}

export interface RegistryOutputs extends RegistryInputs {
    bindings: { stagingStack: string; stagingServer: string; stage: string; endpoint: string }[];
}

async function currentBindings(connection: string): Promise<RegistryOutputs["bindings"]> {
    const all = await locks.withClient(connection, (c) => locks.listBindings(c));
    return all.map((b) => ({ stagingStack: b.stagingStack, stagingServer: b.stagingServer, stage: b.stage, endpoint: b.endpoint }));
}

const registryMethods: CrudMethods<RegistryInputs, RegistryOutputs> = {
    async create(inputs) {
        return { id: "bindings", outs: { ...inputs, bindings: await currentBindings(inputs.connection) } };
    },
    async read(id, props) {
        if (props === undefined) {
            return {};
        }
        const bindings = await currentBindings(props.connection).catch(() => props.bindings); // unreachable: keep what we know
        return { id, props: { ...props, bindings } };
    },
    async update(_id, _olds, news) {
        return { outs: { ...news, bindings: await currentBindings(news.connection) } };
    },
};

export const bindingRegistry = defineResource<RegistryInputs, RegistryOutputs>(
    {
        module: "stagewise", type: "BindingRegistry", version: PROVIDER_VERSION,
        updates: ["connection"],
        // Staging stacks bind and unbind on their own schedule: every preview compares with the live list
        // (when it can be read; a stopped server is reported by the server itself).
        diffRules: async (olds, news, found) => {
            if (found.changed.length > 0) {
                return {};
            }
            const connection = news.connection === UNKNOWN ? olds.connection : news.connection;
            const live = await currentBindings(connection).catch(() => olds.bindings);
            return { changed: sameData(live, olds.bindings) ? [] : ["bindings"] };
        },
        secretInputs: ["connection"],
        outputs: ["bindings"],
    },
    registryMethods,
);

/** Production's list of the staging servers bound to it, as of the last `up` or `refresh`. */
export class BindingRegistry extends declaredClass<BindingRegistryArgs, RegistryOutputs, "bindings">(bindingRegistry) {}
