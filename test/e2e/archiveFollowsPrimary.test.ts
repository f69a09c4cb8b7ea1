// Log shipping across a switchover: production ships its WAL (`shipping`), `primary` moves to the hot
// standby, and the new primary archives into the same WAL archive — on its new timeline.
import * as fs from "fs";
import * as path from "path";
import { Stack } from "@pulumi/pulumi/automation";
import { freePort, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
let prod: Stack;
let standbyPort: number;

beforeAll(async () => {
    workspace = throwawayWorkspace();
    standbyPort = await freePort();
    prod = await stageStack(workspace, "prod", "production", {
        rpo: "1m",
        shipping: { logBackupInterval: "30s", shipInterval: "5s", applyDelay: "0s" },
        standbys: { "prod-hot": { tier: "hot", port: standbyPort } },
    });
});

afterAll(() => workspace?.dispose()); // production is protected: its servers are stopped by PID here

test("after a planned switchover the new primary archives into production's WAL archive", async () => {
    await prod.up({ color: "never" });
    await prod.setConfig("stagewise:primary", { value: "prod-hot" });
    await prod.up({ color: "never" });

    const out = await stageOutputs(prod);
    const source = out.copySource as { superuserPassword: string };
    const url = `postgresql://postgres:${encodeURIComponent(source.superuserPassword)}@127.0.0.1:${standbyPort}/postgres`;
    expect(await queryUrl(url, "SELECT pg_is_in_recovery() AS r")).toEqual([{ r: false }]);
    const [{ segment }] = await queryUrl<{ segment: string }>(url, "SELECT pg_walfile_name(pg_current_wal_lsn()) AS segment");
    expect(segment.slice(0, 8)).toBe("00000002"); // the promoted standby's new timeline
    await queryUrl(url, "CREATE TABLE after_switchover (n int); SELECT pg_switch_wal()");

    const archived = path.join(workspace.dir, "data", "prod", "wal-archive", segment);
    const deadline = Date.now() + 60_000; // generous: the archiver runs on its own schedule
    while (!fs.existsSync(archived) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
    }
    expect(fs.existsSync(archived)).toBe(true);
    expect(await queryUrl(url, "SELECT last_archived_wal, failed_count FROM pg_stat_archiver")).toEqual([{ last_archived_wal: segment, failed_count: "0" }]);
});
