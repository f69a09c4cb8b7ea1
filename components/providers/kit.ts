// The provider kit: a dynamic resource declared once — its type token, provider version, the zod
// schema its `check` runs, the inputs that force replacement or update it in place, and its secrets —
// with one generic `check` and `diff`. Providers keep their own create/read/update/delete.
//
// Pulumi serializes each provider object with what its methods capture, so the generic functions
// here capture only plain data, other functions of this file and diffs.ts; zod is required inside.
import * as pulumi from "@pulumi/pulumi";
import type { z as zod, ZodType } from "zod";
import { changedKnown, UNKNOWN } from "./diffs";

/** What a diff found, by name: inputs (or observed properties) that changed, and those that replace. */
export interface DiffFindings {
    changed: string[];
    replaced: string[];
}

type Failure = pulumi.dynamic.CheckFailure;

export interface ResourceSpec<In extends object, Out extends In> {
    /** The type token's module and type, as `dynamic.Resource` takes them. */
    module: string;
    type: string;
    /** Recorded as the `providerVersion` input: bumping it shows as an update of every resource. */
    version: string;
    /** Validates the inputs; each issue becomes a failure of its top-level input, in the issue's words. */
    schema?: (z: typeof zod) => ZodType;
    /** Values check fills in for inputs not given (stored as inputs). */
    defaults?: Partial<In>;
    /** Refusals that look beyond the inputs (the file system, say), asked only once the schema passes. */
    refuse?: (olds: In | undefined, inputs: In) => Failure[];
    /** Inputs whose change means a new resource. */
    replaces?: readonly (keyof In & string)[];
    /** Inputs whose change is an update in place; inputs in neither list are not compared. */
    updates?: readonly (keyof In & string)[];
    /** Inputs compared only when given: left out, the provider's own value stays (a generated password). */
    whenGiven?: readonly (keyof In & string)[];
    /** The provider's own rules on top of the inputs: drift of what it manages, an input compared its own way. */
    diffRules?: (olds: Out, news: In, found: DiffFindings) => Partial<DiffFindings> | Promise<Partial<DiffFindings>>;
    /** Delete the old resource before creating its replacement (it holds a folder, a port, a lock). @default false */
    deleteBeforeReplace?: boolean;
    /** Inputs wrapped as secrets when given. */
    secretInputs?: readonly (keyof In & string)[];
    /** Outputs kept secret, added to the caller's `additionalSecretOutputs`. */
    secretOutputs?: readonly (keyof Out & string)[];
    /** Properties the resource exposes as outputs even when the caller gives no input for them. */
    outputs?: readonly (keyof Out & string)[];
}

export type CrudMethods<In, Out> = Omit<pulumi.dynamic.ResourceProvider<In, Out>, "check" | "diff">;

export interface ResourceDefinition<In extends object, Out extends In> {
    readonly module: string;
    readonly type: string;
    /** The provider object: the kit's check and diff with the resource's own create/read/update/delete. */
    readonly provider: pulumi.dynamic.ResourceProvider<In, Out>;
    /** The part of `diff` that compares inputs alone (no drift rules). */
    compareInputs(olds: Out, news: In): DiffFindings;
    /** The resource's props: the caller's inputs, secrets wrapped, the outputs present, the provider version. */
    propsOf(args: object): pulumi.Inputs;
    /** The caller's options with this resource's secret outputs added. */
    optionsOf(opts: pulumi.CustomResourceOptions | undefined): pulumi.CustomResourceOptions | undefined;
}

/** A field rule for a schema: `ok(value)`, or a failure in the words of `reason(value)`; runs given or not. */
export function rule(z: typeof zod, ok: (value: unknown) => boolean, reason: (value: unknown) => string): ZodType {
    return z.unknown().superRefine((value, ctx) => {
        if (!ok(value)) {
            ctx.addIssue({ code: "custom", message: reason(value) });
        }
    });
}

/** An absolute path. */
export function absolutePath(z: typeof zod): ZodType {
    return rule(
        z,
        (value) => typeof value === "string" && (require("path") as typeof import("path")).isAbsolute(value),
        (value) => `${JSON.stringify(value)} is not an absolute path`,
    );
}

/** Whether the value at `path` in `inputs`, or one on the way to it, is a preview placeholder. */
function reachesUnknown(inputs: unknown, path: readonly PropertyKey[]): boolean {
    let value = inputs;
    for (const key of path) {
        if (value === UNKNOWN || value === null || typeof value !== "object") {
            return value === UNKNOWN;
        }
        value = (value as Record<PropertyKey, unknown>)[key];
    }
    return value === UNKNOWN;
}

/** The schema's failures for `inputs`, leaving out those about values not known yet (checked again at `up`). */
export function schemaFailures(schema: ZodType, inputs: object): Failure[] {
    const parsed = schema.safeParse(inputs);
    if (parsed.success) {
        return [];
    }
    return parsed.error.issues.filter((issue) => !reachesUnknown(inputs, issue.path)).map((issue) => ({ property: String(issue.path[0] ?? ""), reason: issue.message }));
}

export async function checkInputs<In extends object, Out extends In>(spec: ResourceSpec<In, Out>, olds: In | undefined, news: In): Promise<pulumi.dynamic.CheckResult<In>> {
    const inputs = { ...news } as Record<string, unknown>;
    for (const [key, value] of Object.entries(spec.defaults ?? {})) {
        inputs[key] = (news as Record<string, unknown>)[key] ?? value;
    }
    const failures = spec.schema ? schemaFailures(spec.schema((require("zod") as typeof import("zod")).z), inputs) : [];
    if (failures.length === 0 && spec.refuse && !onLostHost(inputs)) {
        failures.push(...spec.refuse(olds, inputs as In));
    }
    return { inputs: inputs as In, failures };
}

export function compareInputs<In extends object, Out extends In>(spec: ResourceSpec<In, Out>, olds: Out, news: In): DiffFindings {
    const oldInputs = olds as In;
    const changed: string[] = changedKnown(oldInputs, news, [...(spec.replaces ?? []), ...(spec.updates ?? []), "providerVersion" as keyof In & string]);
    for (const key of changedKnown(oldInputs, news, spec.whenGiven ?? [])) {
        if (news[key] !== undefined) {
            changed.push(key);
        }
    }
    return { changed, replaced: (spec.replaces ?? []).filter((key) => changed.includes(key)) };
}

/** Whether the inputs place the resource on a host declared lost (hosts.<name>.lost). */
function onLostHost(inputs: object | undefined): boolean {
    return (inputs as { machine?: { lost?: boolean } } | undefined)?.machine?.lost === true;
}

export async function diffInputs<In extends object, Out extends In>(spec: ResourceSpec<In, Out>, olds: Out, news: In): Promise<pulumi.dynamic.DiffResult> {
    if (onLostHost(news)) {
        return { changes: false }; // nothing is asked of a lost host, not even its drift
    }
    const found = compareInputs(spec, olds, news);
    const more = spec.diffRules ? await spec.diffRules(olds, news, found) : {};
    const changed = [...new Set([...found.changed, ...(more.changed ?? [])])];
    const replaces = [...new Set([...found.replaced, ...(more.replaced ?? [])])];
    return { changes: changed.length + replaces.length > 0, replaces, deleteBeforeReplace: spec.deleteBeforeReplace ?? false };
}

/** Declares a dynamic resource once; `methods` are its create/read/update/delete. */
export function defineResource<In extends object, Out extends In>(spec: ResourceSpec<In, Out>, methods: CrudMethods<In, Out>): ResourceDefinition<In, Out> {
    const provider: pulumi.dynamic.ResourceProvider<In, Out> = {
        check: (olds, news) => checkInputs(spec, olds, news),
        diff: (_id, olds, news) => diffInputs(spec, olds, news),
        ...methods,
        // A refresh leaves what a lost host's resources record.
        ...(methods.read ? { read: (id, props) => (onLostHost(props) ? Promise.resolve({ id, props }) : methods.read!(id, props)) } : {}),
    };
    return {
        module: spec.module,
        type: spec.type,
        provider,
        compareInputs: (olds, news) => compareInputs(spec, olds, news),
        propsOf(args) {
            const props: Record<string, unknown> = { ...Object.fromEntries((spec.outputs ?? []).map((key) => [key, undefined])), ...args };
            for (const key of spec.secretInputs ?? []) {
                if (props[key] !== undefined) {
                    props[key] = pulumi.secret(props[key]);
                }
            }
            return { ...props, providerVersion: spec.version };
        },
        optionsOf(opts) {
            if (!spec.secretOutputs?.length) {
                return opts;
            }
            const callers = opts?.additionalSecretOutputs ?? [];
            return { ...opts, additionalSecretOutputs: [...callers, ...spec.secretOutputs.filter((key) => !callers.includes(key))] };
        },
    };
}

/** The machines given as `machine` inputs, by the secret wrapping each (a resource reads `lost` before inputs resolve). */
const machinesGiven = new WeakMap<object, { lost?: true }>();

/** A member's machine as a secret input (it holds the private key); a resource given it knows whether the host is lost. */
export function secretMachine<M extends { lost?: true }>(machine: M): pulumi.Output<pulumi.Unwrap<M>> {
    const input = pulumi.secret(machine);
    machinesGiven.set(input, machine);
    return input;
}

/**
 * The options of a resource on a lost host: every input but `machine` stays as recorded, so nothing
 * changes there and the host's real values come back unchanged once it is back (its diff, above, asks nothing).
 */
function leftAsRecorded(opts: pulumi.CustomResourceOptions | undefined, props: pulumi.Inputs): pulumi.CustomResourceOptions {
    return { ...opts, ignoreChanges: [...(opts?.ignoreChanges ?? []), ...Object.keys(props).filter((key) => key !== "machine")] };
}

/** A resource declared with `defineResource`: subclasses give their args type and output properties. */
export abstract class DeclaredResource extends pulumi.dynamic.Resource {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any resource's definition
    protected constructor(definition: ResourceDefinition<any, any>, name: string, args: object, opts?: pulumi.CustomResourceOptions) {
        const props = definition.propsOf(args);
        const lost = machinesGiven.get((args as { machine?: object }).machine as object)?.lost === true; // WeakMap.get of a non-object is undefined
        super(definition.provider, name, props, definition.optionsOf(lost ? leftAsRecorded(opts, props) : opts), definition.module, definition.type);
    }
}

/** A declared resource's output properties, typed from its outputs. */
export type OutputsOf<Out, K extends keyof Out> = { readonly [P in K]: pulumi.Output<Out[P]> };

/** Every resolved input as the caller gives it: readonly, a `pulumi.Input`, its TSDoc kept; `providerVersion` is the kit's. */
type InputsGiven<In> = { readonly [P in keyof In as P extends "providerVersion" ? never : P]: pulumi.Input<Exclude<In[P], undefined>> };

/**
 * A declared resource's public args, derived from its resolved inputs (write the TSDoc and `@default`
 * once, there): `interface XArgs extends ArgsOf<XInputs, "a"> {}`. `Optional` names inputs the caller
 * may leave out though the provider always has them (check or the constructor fills them in).
 */
export type ArgsOf<In, Optional extends keyof In = never> = [Optional] extends [never]
    ? InputsGiven<In>
    : Omit<InputsGiven<In>, Optional> & Partial<Pick<InputsGiven<In>, Optional & keyof InputsGiven<In>>>;

/** What `declaredClass` returns: a constructor of the resource with its output properties. */
export type DeclaredClass<Args, Out, K extends keyof Out> = new (name: string, args: Args, opts?: pulumi.CustomResourceOptions) => DeclaredResource & OutputsOf<Out, K>;

/**
 * The class of a resource declared with `defineResource`, its outputs `K` typed from `Out`:
 * `export class X extends declaredClass<XArgs, XOutputs, "a" | "b">(x) {}`.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any resource's definition
export function declaredClass<Args extends object, Out, K extends keyof Out = never>(definition: ResourceDefinition<any, any>): DeclaredClass<Args, Out, K> {
    class Declared extends DeclaredResource {
        constructor(name: string, args: Args, opts?: pulumi.CustomResourceOptions) {
            super(definition, name, args, opts);
        }
    }
    return Declared as DeclaredClass<Args, Out, K>;
}
