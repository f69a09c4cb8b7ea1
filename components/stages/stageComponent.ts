// What the library's top-level components have in common (a production or staging stage, a DR
// site): they declare their parts asynchronously (other stacks' outputs are read first), publish the
// outputs a stagewise stack exports, and report a refusal exactly once.
import * as pulumi from "@pulumi/pulumi";
import type { StageOutputs } from "../outputs";
import type { StackOutputs } from "./stageOutputs";

/**
 * What the stage components have in common: the outputs, as the stack of a stagewise project
 * exports them, and `ready`, which settles once everything is declared.
 */
export abstract class StageComponent extends pulumi.ComponentResource {
    /** Every output of the stage, as a stagewise stack exports it (components/outputs.ts). */
    public readonly outputs: pulumi.Output<StackOutputs>;
    /** libpq URL of each engine database for the owner role (secret). */
    public readonly connectionStrings: pulumi.Output<Record<string, string>>;
    /** Each server: host, port, endpoint, running, systemIdentifier, databases. */
    public readonly servers: pulumi.Output<StageOutputs["servers"]>;
    /** Each standby with its tier and state (absent without standbys). */
    public readonly standbys: pulumi.Output<StageOutputs["standbys"]>;
    private readonly outcome: Promise<StackOutputs>;
    private claimed = false;

    protected constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions, declare: (self: StageComponent) => Promise<StackOutputs>) {
        super(type, name, {}, opts);
        this.outcome = declare(this);
        // The outputs wait for the declaration; a refusal is reported once: to whoever awaits `ready`,
        // else by the SDK (an unhandled RunError ends the program with its message, no stack trace).
        const declared = this.outcome.then(
            (o) => o,
            (err) => {
                if (!this.claimed) {
                    void Promise.reject(err);
                }
                return new Promise<never>(() => undefined);
            },
        );
        const output = <T>(key: string) => pulumi.output(declared.then((o) => o[key])) as unknown as pulumi.Output<T>;
        this.outputs = pulumi.output(declared) as unknown as pulumi.Output<StackOutputs>;
        this.connectionStrings = pulumi.secret(output<Record<string, string>>("connectionStrings"));
        this.servers = output<StageOutputs["servers"]>("servers");
        this.standbys = output<StageOutputs["standbys"]>("standbys");
        void declared.then((o) => this.registerOutputs({ servers: o.servers, standbys: o.standbys }));
    }

    /**
     * Settles with the outputs once every resource is declared; rejects with the refusal when the
     * stage cannot be declared (e.g. its production stack has no outputs, a fenced primary). Whoever
     * awaits it reports the refusal.
     */
    public get ready(): Promise<StackOutputs> {
        this.claimed = true;
        return this.outcome;
    }
}

