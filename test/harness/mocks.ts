// Pulumi mocks harness for component graphs: records every resource the program registers (type,
// name, inputs) so tests assert exact children; parents show in each resource's URN. Nothing here talks to a real engine.
import * as pulumi from "@pulumi/pulumi";

export interface RecordedResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    /** Reference ("<urn>::<id>") of the explicit provider the resource was given, if any. */
    provider?: string;
}

export interface MockEnvironment {
    resources: RecordedResource[];
    /** The recorded resource of this type and name, or a failure listing what was recorded. */
    get(type: string, name: string): RecordedResource;
}

/**
 * Installs Pulumi mocks for project `stagewise` and `stack`, with `config` (full keys) and the keys in
 * `secretKeys` marked secret. Call before the program under test builds its resources.
 */
export async function installMocks(
    stack: string,
    config: Record<string, string>,
    secretKeys: string[] = [],
    outputs: (type: string, inputs: Record<string, unknown>) => Record<string, unknown> = () => ({}),
): Promise<MockEnvironment> {
    const resources: RecordedResource[] = [];
    pulumi.runtime.setAllConfig(config, secretKeys);
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                resources.push({ type: args.type, name: args.name, inputs: args.inputs, provider: args.provider });
                return { id: `${args.name}-id`, state: { ...args.inputs, ...outputs(args.type, args.inputs) } };
            },
            call(args) {
                return args.inputs;
            },
        },
        "stagewise",
        stack,
        false,
    );
    return {
        resources,
        get(type, name) {
            const found = resources.find((r) => r.type === type && r.name === name);
            if (!found) {
                throw new Error(`no ${type} named ${name}; recorded: ${resources.map((r) => `${r.type}::${r.name}`).join(", ")}`);
            }
            return found;
        },
    };
}

/** Waits until every registration the program started has reached the mock monitor. */
export async function settled(): Promise<void> {
    // Exported by the SDK at run time, internal in its typings.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
}

/** The value of an Output, for assertions. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply(resolve));
}

/** A Stage of the stack's validated configuration, resolved as the program resolves it (relative paths against `projectDir`). */
export async function newStage(name: string, config: import("../../components/config/config").StageConfig, projectDir = "/project") {
    const { Stage } = await import("../../components/server/stage");
    const { stageTopology } = await import("../../components/topology/hostPaths");
    const topology = stageTopology(config, pulumi.getStack(), projectDir);
    return new Stage(name, { topology, superuserPassword: config.superuserPassword, applicationPassword: config.applicationPassword });
}
