// Dynamic providers for the two-stage runbook's coordination records, kept in a server's
// configuration database (locks/lockRows.ts): AdministrativeLock, LockBinding and, on production,
// BindingRegistry, which reports the staging servers bound to it.
import * as pulumi from "@pulumi/pulumi";
import * as locks from "./lockRows";
import { changedKnown, sameData, UNKNOWN } from "../providers/diffs";

/** Bumped whenever these providers' behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

// ---------------------------------------------------------------------------------------------
// AdministrativeLock

export interface AdministrativeLockArgs {
    /** libpq URL of the locked server's configuration database (a secret). */
    readonly connection: pulumi.Input<string>;
    /** What is locked, e.g. "copy"; one holder per scope and server. */
    readonly scope: pulumi.Input<string>;
    /** `<project>/<stack>` holding the lock. */
    readonly holder: pulumi.Input<string>;
    /** The holder's stage kind. */
    readonly stage: pulumi.Input<string>;
    /** Why, for whoever finds the lock. */
    readonly reason: pulumi.Input<string>;
    /** Seconds to wait for another holder to release it. @default 0 */
    readonly waitSeconds?: pulumi.Input<number>;
    /** Take over a lock held by exactly this holder (explicit break of a stale lock). */
    readonly breakHeldBy?: pulumi.Input<string>;
}

interface LockInputs {
    connection: string;
    scope: string;
    holder: string;
    stage: string;
    reason: string;
    waitSeconds?: number;
    breakHeldBy?: string;
    providerVersion: string;
}

interface LockOutputs extends LockInputs {
    acquiredAt: string;
}

const lockProvider: pulumi.dynamic.ResourceProvider<LockInputs, LockOutputs> = {
    async check(_olds, news) {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (!/^[a-z][a-z0-9_-]{0,62}$/.test(String(news.scope))) {
            failures.push({ property: "scope", reason: `${JSON.stringify(news.scope)} is not a lock scope (lower-case letters, digits, _ and -)` });
        }
        const wait = news.waitSeconds ?? 0;
        if (!Number.isInteger(wait) || wait < 0 || wait > 3600) {
            failures.push({ property: "waitSeconds", reason: `${JSON.stringify(wait)} is not a whole number of seconds from 0 to 3600` });
        }
        return { inputs: news, failures };
    },
    async diff(_id, olds, news) {
        const replaces = changedKnown(olds, news, ["connection", "scope", "holder"] as const);
        const changes = replaces.length > 0 || olds.reason !== news.reason || olds.stage !== news.stage || olds.providerVersion !== news.providerVersion;
        // A lock must be released before it is taken anew (deleteBeforeReplace), or the new one would wait on the old.
        return { changes, replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        const held = await locks.withClient(inputs.connection, (c) => locks.acquireLock(c, inputs));
        return { id: `${inputs.scope}:${inputs.holder}`, outs: { ...inputs, acquiredAt: held.acquiredAt } };
    },
    async read(id, props) {
        if (props === undefined) {
            return {};
        }
        let held: locks.LockRecord | undefined;
        try {
            held = await locks.withClient(props.connection, (c) => locks.currentLock(c, props.scope));
        } catch {
            return { id, props }; // production cannot be reached: keep what we know
        }
        // Released or broken behind our back: the lock no longer exists, and `up` takes it again.
        return held?.holder === props.holder ? { id, props: { ...props, acquiredAt: held.acquiredAt } } : {};
    },
    async update(_id, _olds, news) {
        const held = await locks.withClient(news.connection, (c) => locks.acquireLock(c, news));
        return { outs: { ...news, acquiredAt: held.acquiredAt } };
    },
    async delete(_id, props) {
        await locks.withClient(props.connection, (c) => locks.releaseLock(c, props.scope, props.holder));
    },
};

/** An administrative lock on a server, held by this stack for as long as the resource exists. */
export class AdministrativeLock extends pulumi.dynamic.Resource {
    declare public readonly scope: pulumi.Output<string>;
    declare public readonly holder: pulumi.Output<string>;
    declare public readonly reason: pulumi.Output<string>;
    declare public readonly acquiredAt: pulumi.Output<string>;

    constructor(name: string, args: AdministrativeLockArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            lockProvider,
            name,
            { ...args, connection: pulumi.secret(args.connection), providerVersion: PROVIDER_VERSION, acquiredAt: undefined },
            opts,
            "stagewise",
            "AdministrativeLock",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// LockBinding

export interface LockBindingArgs {
    /** libpq URL of production's configuration database (a secret). */
    readonly productionConnection: pulumi.Input<string>;
    /** `<project>/<stack>` of the staging stack. */
    readonly stagingStack: pulumi.Input<string>;
    /** The staging server bound to production. */
    readonly stagingServer: pulumi.Input<string>;
    /** The staging stage kind (test or development). */
    readonly stage: pulumi.Input<string>;
    /** "host:port" of the staging server. */
    readonly endpoint: pulumi.Input<string>;
}

interface BindingInputs {
    productionConnection: string;
    stagingStack: string;
    stagingServer: string;
    stage: string;
    endpoint: string;
    providerVersion: string;
}

interface BindingOutputs extends BindingInputs {
    boundAt: string;
}

const bindingProvider: pulumi.dynamic.ResourceProvider<BindingInputs, BindingOutputs> = {
    async diff(_id, olds, news) {
        const replaces = changedKnown(olds, news, ["productionConnection", "stagingStack", "stagingServer"] as const);
        const changes = replaces.length > 0 || olds.endpoint !== news.endpoint || olds.stage !== news.stage || olds.providerVersion !== news.providerVersion;
        return { changes, replaces, deleteBeforeReplace: true };
    },
    async create(inputs) {
        const record = await locks.withClient(inputs.productionConnection, (c) => locks.bind(c, inputs));
        return { id: `${inputs.stagingStack}:${inputs.stagingServer}`, outs: { ...inputs, boundAt: record.boundAt } };
    },
    async read(id, props) {
        if (props === undefined) {
            return {};
        }
        let all: locks.BindingRecord[];
        try {
            all = await locks.withClient(props.productionConnection, (c) => locks.listBindings(c));
        } catch {
            return { id, props }; // production cannot be reached: keep what we know
        }
        const mine = all.find((b) => b.stagingStack === props.stagingStack && b.stagingServer === props.stagingServer);
        return mine ? { id, props: { ...props, boundAt: mine.boundAt } } : {};
    },
    async update(_id, _olds, news) {
        const record = await locks.withClient(news.productionConnection, (c) => locks.bind(c, news));
        return { outs: { ...news, boundAt: record.boundAt } };
    },
    async delete(_id, props) {
        await locks.withClient(props.productionConnection, (c) => locks.unbind(c, props.stagingStack, props.stagingServer));
    },
};

/** The record on production that a staging server is bound to it. */
export class LockBinding extends pulumi.dynamic.Resource {
    declare public readonly stagingServer: pulumi.Output<string>;
    declare public readonly boundAt: pulumi.Output<string>;

    constructor(name: string, args: LockBindingArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            bindingProvider,
            name,
            { ...args, productionConnection: pulumi.secret(args.productionConnection), providerVersion: PROVIDER_VERSION, boundAt: undefined },
            opts,
            "stagewise",
            "LockBinding",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// BindingRegistry

export interface BindingRegistryArgs {
    /** libpq URL of production's own configuration database (a secret). */
    readonly connection: pulumi.Input<string>;
}

interface RegistryInputs {
    connection: string;
    providerVersion: string;
}

interface RegistryOutputs extends RegistryInputs {
    bindings: { stagingStack: string; stagingServer: string; stage: string; endpoint: string }[];
}

async function currentBindings(connection: string): Promise<RegistryOutputs["bindings"]> {
    const all = await locks.withClient(connection, (c) => locks.listBindings(c));
    return all.map((b) => ({ stagingStack: b.stagingStack, stagingServer: b.stagingServer, stage: b.stage, endpoint: b.endpoint }));
}

const registryProvider: pulumi.dynamic.ResourceProvider<RegistryInputs, RegistryOutputs> = {
    async diff(_id, olds, news) {
        if (changedKnown(olds, news, ["connection"] as const).length > 0 || olds.providerVersion !== news.providerVersion) {
            return { changes: true };
        }
        // Staging stacks bind and unbind on their own schedule: every preview compares with the live list
        // (when it can be read; a stopped server is reported by the server itself).
        const connection = news.connection === UNKNOWN ? olds.connection : news.connection;
        const live = await currentBindings(connection).catch(() => olds.bindings);
        return { changes: !sameData(live, olds.bindings) };
    },
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

/** Production's list of the staging servers bound to it, as of the last `up` or `refresh`. */
export class BindingRegistry extends pulumi.dynamic.Resource {
    declare public readonly bindings: pulumi.Output<RegistryOutputs["bindings"]>;

    constructor(name: string, args: BindingRegistryArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            registryProvider,
            name,
            { connection: pulumi.secret(args.connection), providerVersion: PROVIDER_VERSION, bindings: undefined },
            opts,
            "stagewise",
            "BindingRegistry",
        );
    }
}
