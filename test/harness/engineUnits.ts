// A work database with the reference schema on a real cluster, and the command that runs the
// reference engine's units, for integration tests and benchmarks.
import * as path from "path";
import { bootstrap, initCluster, startCluster, writeSettings, ClusterLocation } from "../../components/postgres/cluster";
import { referenceSchemaSql } from "../../components/engine/referenceSchema";
import { parseQualifiedName } from "../../components/engine/tables";
import { withClient } from "../../components/postgres/pg";
import { REPO_ROOT } from "./engine";
import { clusterLocation } from "./postgres";

/** How the reference engine's units are run (the default of engine.command). */
export const REFERENCE_ENGINE_COMMAND = [process.execPath, path.join(REPO_ROOT, "engine", "run.js")];

export interface WorkDatabase {
    loc: ClusterLocation;
    url: string;
}

/** A started cluster holding the `work` database (reference schema) owned by `engine`. */
export async function workDatabase(root: string): Promise<WorkDatabase> {
    const loc = await clusterLocation(root);
    initCluster(loc, "superuser-pw");
    writeSettings(loc, {});
    startCluster(loc);
    const tables = { server: parseQualifiedName("Server.Server")!, licenseKey: parseQualifiedName("HostServer.LicenseKey")! };
    await bootstrap(loc, "superuser-pw", { ownerRole: "engine", ownerPassword: "engine-pw", databases: [{ name: "work", schemaSql: referenceSchemaSql("work", tables) }] });
    return { loc, url: `postgresql://engine:engine-pw@127.0.0.1:${loc.port}/work` };
}

/** Process definitions of `steps` steps at each recovery level, named after it ("full", "process", "none"). */
export async function defineProcesses(url: string, steps: number): Promise<void> {
    await withClient(url, async (c) => {
        for (const level of ["full", "process", "none"]) {
            await c.query(
                `INSERT INTO "Work"."ProcessDefinition" ("Name", "RecoveryLevel", "Definition") VALUES ($1, $1, $2)
                 ON CONFLICT ("Name") DO UPDATE SET "Definition" = EXCLUDED."Definition"`,
                [level, JSON.stringify({ steps: Array.from({ length: steps }, (_, i) => `step-${i + 1}`) })],
            );
        }
    });
}
