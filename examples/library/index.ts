// stagewise as a library: a Pulumi program of its own that declares a production stage with a hot
// standby in code, with no stagewise stack file. The servers run on this machine (the local platform,
// data under .stagewise/<stack> here). From a stagewise checkout:
//
//   npm pack --pack-destination examples/library
//   cd examples/library && npm install && pulumi stack init dev && pulumi up
//
// Production is protected: `pulumi state unprotect --all` first, then `pulumi destroy`, removes it.
// admin/objects.json holds the engine's admin objects (none here): a stage reads that file by default.
import { ProductionStage } from "stagewise";

// The same keys and values as a stagewise stack file's `stagewise:*` configuration, as typed objects.
const prod = new ProductionStage("lib", {
    servers: { "lib-db": { port: 15732 } },
    standbys: { "lib-db-hot": { tier: "hot", port: 15733 } },
});

/** Each server: host, port, endpoint, running, systemIdentifier. */
export const servers = prod.servers;
/** The hot standby: its tier, whether it runs and streams, its lag. */
export const standbys = prod.standbys;
/** libpq URL of each engine database (config, work, business, ...) for the owner role: a secret. */
export const connectionStrings = prod.connectionStrings;
/** Everything a stagewise stack exports (components/outputs.ts), for the stacks that read this one. */
export const outputs = prod.outputs;
