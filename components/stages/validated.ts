// The configuration a stage component is built from: either the stack's own (read and validated
// while the program loads, by stackConfig) or a library user's typed object, validated with the same
// rules and the same messages (components/config/validate.ts) before anything is declared.
import * as pulumi from "@pulumi/pulumi";
import { CheckContext, currentStackContext, loadStageConfig, StageConfig, StageConfigError } from "../config/config";

const VALIDATED = new WeakSet<object>();

/** The current stack's configuration, validated (bad configuration ends the program with every problem listed). */
export function stackConfig(): StageConfig {
    const config = loadStageConfig();
    VALIDATED.add(config);
    return config;
}

/**
 * `args` as given when stackConfig made it, else `validate(args)`; a problem ends the program with
 * every problem listed (a RunError: no stack trace).
 */
export function validatedConfig<T extends object>(component: string, name: string, args: T | StageConfig, validate: (args: T, context: CheckContext, what: string) => StageConfig): StageConfig {
    if (VALIDATED.has(args)) {
        return args as StageConfig;
    }
    try {
        const config = validate(args as T, currentStackContext(), `${component} "${name}"`);
        VALIDATED.add(config);
        return config;
    } catch (err) {
        throw err instanceof StageConfigError ? new pulumi.RunError(err.message) : err;
    }
}
