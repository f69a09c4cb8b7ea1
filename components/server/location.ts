// Where a server of the local platform lives and listens: the inputs every provider of a server
// (primary, standby, copy target, DR server) takes, matching postgres/cluster.ts's ClusterLocation.
import * as pulumi from "@pulumi/pulumi";
import type { RemoteMachine } from "../platform/platform";
import { secretMachine } from "../providers/kit";

export interface ServerLocationArgs {
    /** Folder of the PostgreSQL programs. */
    readonly binDir: pulumi.Input<string>;
    /** Folder of the server (its data directory is `pgdata/` inside). */
    readonly serverDir: pulumi.Input<string>;
    readonly host: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    /** OS user running the server when the deployer is root. */
    readonly osUser?: pulumi.Input<string>;
    /** The other machine it runs on, over SSH (a secret: it holds the private key). @default the deploying machine */
    readonly machine?: pulumi.Input<RemoteMachine>;
}

/** A secret input of a member's machine (it holds the private key), or nothing on this machine. */
export function machineInput(member: { machine?: RemoteMachine }): { machine?: pulumi.Output<RemoteMachine> } {
    return member.machine === undefined ? {} : { machine: secretMachine(member.machine) };
}
