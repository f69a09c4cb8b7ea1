// Other stacks this stage depends on, read through StackReferences before any resource is declared,
// so a missing or wrong stack stops the program before anything changes.
import * as pulumi from "@pulumi/pulumi";
import { PromotionState } from "./admin/adminModel";
import { CopySource } from "./copy/databaseCopy";

export interface ProductionReference {
    stack: string;
    /** libpq URL of production's configuration database (secret). */
    configConnection: pulumi.Output<string>;
    /** Production's server holding the engine databases, for copies (secret). */
    copySource: pulumi.Output<CopySource | undefined>;
}

/** Production's outputs for a staging stage; a RunError when production is not up or is not production. */
export async function referenceProduction(stack: string): Promise<ProductionReference> {
    const ref = new pulumi.StackReference(`production-${stack.replace(/\//g, "-")}`, { name: stack });
    const kind = (await ref.getOutputDetails("stage")).value;
    if (kind === undefined) {
        throw new pulumi.RunError(`production stack ${stack} has no outputs: bring production up first (npm start brings prod up before test and dev)`);
    }
    if (kind !== "production") {
        throw new pulumi.RunError(`production.stack ${stack} is a ${kind} stage, not production`);
    }
    return {
        stack,
        configConnection: pulumi.secret(ref.getOutput("connectionStrings").apply((cs) => (cs as { config: string }).config)),
        copySource: pulumi.secret(ref.getOutput("copySource") as pulumi.Output<CopySource | undefined>),
    };
}

/** The admin objects the test stage applied and verified, or undefined when it has none. */
export async function verifiedOnTest(stack: string): Promise<PromotionState | undefined> {
    const ref = new pulumi.StackReference(`promotion-${stack.replace(/\//g, "-")}`, { name: stack });
    const state = (await ref.getOutputDetails("adminObjects")).value as PromotionState | undefined;
    return state?.verified ? state : state === undefined ? undefined : { ...state, verified: false };
}
