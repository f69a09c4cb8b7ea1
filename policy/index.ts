// stagewise's guardrails as a Pulumi policy pack (PulumiPolicy.yaml):
//   npm run pulumi -- preview --stack prod --policy-pack policy
// Each policy is mandatory: a violation stops `preview` and `up`. The rules live in guardrails.ts.
import { PolicyPack, StackValidationArgs } from "@pulumi/policy";
import { productionHasStandby, productionServersProtected, rpoWithinMaximum, stageFacts, StageFacts } from "./guardrails";

/** The stack's configuration reaches every default provider; the Node one is always there. */
function factsOf(args: StackValidationArgs): StageFacts | string {
    const provider = args.resources.find((r) => r.type === "pulumi:providers:pulumi-nodejs" && r.name === "default");
    return provider ? stageFacts(provider.props) : "no default pulumi-nodejs provider: is this a stagewise stack?";
}

function withFacts(check: (facts: StageFacts, args: StackValidationArgs) => string[]) {
    return (args: StackValidationArgs, report: (message: string) => void) => {
        const facts = factsOf(args);
        for (const message of typeof facts === "string" ? [facts] : check(facts, args)) {
            report(message);
        }
    };
}

const present = (message: string | undefined) => (message === undefined ? [] : [message]);

new PolicyPack("stagewise-guardrails", {
    enforcementLevel: "mandatory",
    policies: [
        {
            name: "production-has-a-standby",
            description: "A production stage declares at least one standby (hot, warm or cold).",
            validateStack: withFacts((facts) => present(productionHasStandby(facts))),
        },
        {
            name: "rpo-within-maximum",
            description: "The stage's accepted data loss (rpo) is at most the declared maximum.",
            configSchema: { properties: { maxRpo: { type: "string", default: "4h" } } },
            validateStack: withFacts((facts, args) => present(rpoWithinMaximum(facts, args.getConfig<{ maxRpo: string }>().maxRpo))),
        },
        {
            name: "production-servers-protected",
            description: "Production's database servers are protected against replacement and deletion.",
            validateStack: withFacts((facts, args) =>
                productionServersProtected(
                    facts,
                    args.resources.map((r) => ({ type: r.type, name: r.name, protect: r.opts.protect })),
                ),
            ),
        },
    ],
});
