// Where a server of the local platform lives and listens: the inputs every provider of a server
// (primary, standby, copy target, DR server) takes, matching postgres/cluster.ts's ClusterLocation.
import * as pulumi from "@pulumi/pulumi";

export interface ServerLocationArgs {
    /** Folder of the PostgreSQL programs. */
    readonly binDir: pulumi.Input<string>;
    /** Folder of the server (its data directory is `pgdata/` inside). */
    readonly serverDir: pulumi.Input<string>;
    readonly host: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    /** OS user running the server when the deployer is root. */
    readonly osUser?: pulumi.Input<string>;
}
