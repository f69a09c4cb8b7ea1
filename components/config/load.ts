// Reads the stack's configuration through Pulumi and validates it before any resource exists.
import * as pulumi from "@pulumi/pulumi";
import { formatProblems, parseStageConfig } from "./problems";
import { StageConfig } from "./schema";
import type { CheckContext } from "./crossChecks";

// The SDK exports this at run time but marks it internal in its typings.
const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret(key: string): boolean }).isConfigSecret;

/** Every key the engine marked secret (`pulumi config set --secret`). */
function secretKeys(config: Record<string, string>): Set<string> {
    return new Set(Object.keys(config).filter((key) => isConfigSecret(key)));
}

/** The stack's organization ("organization" on a file backend, and where the engine does not say). */
function organization(): string {
    try {
        return pulumi.getOrganization();
    } catch {
        return "organization";
    }
}

/** The stack being deployed, for the checks that need it (its organization, project and name). */
export function currentStackContext(): CheckContext {
    return { stack: { organization: organization(), project: pulumi.getProject(), stack: pulumi.getStack() } };
}

/**
 * The validated configuration of the current stack. Bad configuration ends the program with every
 * problem listed, and no stack trace (a RunError).
 */
export function loadStageConfig(): StageConfig {
    const stack = pulumi.getStack();
    const config = pulumi.runtime.allConfig();
    const result = parseStageConfig(config, secretKeys(config), currentStackContext());
    if (!result.ok) {
        throw new pulumi.RunError(formatProblems(stack, result.problems));
    }
    return result.config;
}
