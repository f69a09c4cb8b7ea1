// The program of every stage: read the stack's configuration, declare the stage or DR site it
// describes, and return its outputs (the contract in components/outputs.ts).
import * as pulumi from "@pulumi/pulumi";
import { DisasterRecoverySite, ProductionStage, stackConfig, StagingStage } from "./components/stagewise";

// Validated while the program loads: bad configuration stops it before anything else happens.
const config = stackConfig();

export = async () => {
    const stack = pulumi.getStack();
    const declared = config.disasterRecovery
        ? new DisasterRecoverySite(stack, config)
        : config.stage === "production"
          ? new ProductionStage(stack, config)
          : new StagingStage(stack, config);
    try {
        return await declared.ready;
    } catch (err) {
        // A refusal (RunError) or a component's own error is reported once, without a stack trace, and
        // the program ends at once: left to itself, Node lingers some 20 s on open engine connections.
        if (pulumi.RunError.isInstance(err) || pulumi.ResourceError.isInstance(err)) {
            await pulumi.log.error((err as Error).message, pulumi.ResourceError.isInstance(err) ? (err as pulumi.ResourceError).resource : undefined);
            process.exit(32); // the SDK's "error already reported" exit code
        }
        throw err;
    }
};
