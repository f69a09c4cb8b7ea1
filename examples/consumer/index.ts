// An example consumer: another pipeline's stack that reads production's outputs through a
// StackReference, checks them against stagewise's versioned contract, and uses what it needs.
//
//   pulumi config set productionStack organization/stagewise/prod
import * as pulumi from "@pulumi/pulumi";
import { OUTPUTS_VERSION, stageOutputsSchema } from "../../components/outputs";

const config = new pulumi.Config();
const productionStack = config.get("productionStack") ?? "organization/stagewise/prod";
const production = new pulumi.StackReference(productionStack);

// One check of the whole contract: a consumer built against version N stops with the reason when
// production publishes something else, instead of deploying with a missing endpoint.
const contract = production.outputs.apply((outputs) => {
    const parsed = stageOutputsSchema.safeParse(outputs);
    if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(outputs)"}: ${i.message}`);
        throw new Error(`${productionStack} does not publish stagewise outputs version ${OUTPUTS_VERSION}:\n  ${problems.join("\n  ")}`);
    }
    return parsed.data;
});

/** Where the engine's work database lives (not a secret). */
export const workDatabase = pulumi.unsecret(contract.apply((o) => `${o.databases.work.host}:${o.databases.work.port}/${o.databases.work.name}`));
/** Which stage and PostgreSQL it is. */
export const productionStage = pulumi.unsecret(contract.apply((o) => `${o.stage} on ${o.postgresVersion}`));
/** The engine's connection string: stays a secret in this stack too. */
export const workConnectionString = pulumi.secret(contract.apply((o) => (typeof o.connectionStrings === "string" ? o.connectionStrings : o.connectionStrings.work)));
