// A hot standby of production through the real engine: streaming through a slot, reachable through
// the failover connection string, drift repaired, and removed cleanly when undeclared.
import { Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { findPostgresBinDir } from "../../components/platform/local";
import { freePort, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl, stopByHand } from "../harness/postgres";
import { streamingHotStandby } from "../harness/expected";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
let prod: Stack;
let standbyPort: number;

/** Runs `sql` through psql (libpq: multi-host URLs and target_session_attrs), password via the environment. */
function psql(url: string, sql: string): string {
    const parsed = /^postgresql:\/\/([^:]+):([^@]+)@(.+)$/.exec(url)!;
    const [, user, password, rest] = parsed;
    return childProcess
        .execFileSync(path.join(findPostgresBinDir(undefined), "psql"), [`postgresql://${user}@${rest}`, "-XAtc", sql], {
            env: { ...process.env, PGPASSWORD: decodeURIComponent(password) },
            encoding: "utf8",
        })
        .trim();
}


beforeAll(async () => {
    workspace = throwawayWorkspace();
    standbyPort = await freePort();
    prod = await stageStack(workspace, "prod", "production", { standbys: { "prod-hot": { tier: "hot", port: standbyPort } } });
});

afterAll(() => workspace?.dispose());

test("up creates a hot standby that streams from production through its slot", async () => {
    const result = await prod.up({ color: "never" });
    expect(result.stdout).toMatch(/standby prod-hot: .*kB/);
    const out = await stageOutputs(prod);
    expect(out.standbys).toEqual({ "prod-hot": streamingHotStandby(standbyPort, "stagewise_prod_hot") });
    const cs = out.connectionStrings as Record<string, string>;
    expect(await queryUrl(cs.config, "SELECT slot_name, active FROM pg_replication_slots")).toEqual([{ slot_name: "stagewise_prod_hot", active: true }]);
});

test("the failover connection string reaches the writable primary; commits show on the read-only standby", async () => {
    const out = await stageOutputs(prod);
    const failover = (out.failoverConnectionStrings as Record<string, string>).business;
    const primaryPort = out.servers["prod-db"].port;
    expect(failover).toMatch(new RegExp(`@127\\.0\\.0\\.1:${primaryPort},127\\.0\\.0\\.1:${standbyPort}/business\\?target_session_attrs=read-write$`));
    expect(psql(failover, "SELECT pg_is_in_recovery(), current_setting('port')")).toBe(`f|${primaryPort}`);
    psql(failover, `INSERT INTO "Business"."Document" ("Reference") VALUES ('REPLICATED')`);

    const onStandby = (out.connectionStrings as Record<string, string>).business.replace(`:${primaryPort}/`, `:${standbyPort}/`);
    let rows: unknown[] = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
        rows = await queryUrl(onStandby, `SELECT "Reference" FROM "Business"."Document" WHERE "Reference" = 'REPLICATED'`);
        await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows).toEqual([{ Reference: "REPLICATED" }]);
    await expect(queryUrl(onStandby, `INSERT INTO "Business"."Document" ("Reference") VALUES ('NO')`)).rejects.toThrow("cannot execute INSERT in a read-only transaction");
});

test("a second up changes nothing; a standby stopped behind Pulumi's back shows in preview and up starts it", async () => {
    expect((await prod.preview({ color: "never" })).changeSummary.update).toBeUndefined();
    const serverDir = path.join(workspace.dir, "data", "prod", "prod-hot");
    stopByHand(serverDir);

    expect((await prod.preview({ color: "never" })).changeSummary.update).toBe(1);
    await prod.up({ color: "never" });
    expect((await stageOutputs(prod)).standbys?.["prod-hot"]).toMatchObject({ running: true, streaming: true });
});

test("removing the standby from the config stops it, drops its slot on production and removes its folder", async () => {
    await prod.removeConfig("stagewise:standbys");
    await prod.up({ color: "never" });
    const out = await stageOutputs(prod);
    expect(out.standbys).toBeUndefined();
    expect(await queryUrl((out.connectionStrings as Record<string, string>).config, "SELECT count(*)::int AS n FROM pg_replication_slots")).toEqual([{ n: 0 }]);
    expect(fs.existsSync(path.join(workspace.dir, "data", "prod", "prod-hot"))).toBe(false);
});
