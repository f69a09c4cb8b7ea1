// A hot standby of a real primary: streaming through a slot, read-only, current, and removed cleanly.
import * as fs from "fs";
import { bootstrap, ClusterLocation, initCluster, startCluster, writeSettings } from "../../components/postgres/cluster";
import { withClient } from "../../components/postgres/pg";
import { createHotStandby, HotStandbySpec, removeHotStandby, standbyStatus } from "../../components/standby/hot/replication";
import { freePort } from "../harness/engine";
import { clusterLocation, removeCluster, tempDir } from "../harness/postgres";

jest.setTimeout(180_000);

let root: string;
let primary: ClusterLocation;
let spec: HotStandbySpec;
const PASSWORD = "primary-super";

beforeAll(async () => {
    root = tempDir("stagewise-standby-");
    primary = await clusterLocation(root, "primary");
    initCluster(primary, PASSWORD);
    writeSettings(primary, {});
    startCluster(primary);
    await bootstrap(primary, PASSWORD, { ownerRole: "engine", ownerPassword: "app", databases: [{ name: "work", schemaSql: "CREATE TABLE IF NOT EXISTS t (id int)" }] });
    const port = await freePort();
    spec = {
        name: "standby",
        loc: { ...primary, serverDir: `${root}/standby`, port },
        primary: { host: primary.host, port: primary.port, superuserPassword: PASSWORD },
        slot: "stagewise_standby",
        settings: { work_mem: "8MB" },
    };
});

afterAll(async () => {
    await removeHotStandby(spec).catch(() => undefined);
    removeCluster(primary);
    fs.rmSync(root, { recursive: true, force: true });
});

const on = (loc: ClusterLocation, sql: string) =>
    withClient({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database: "work" }, async (c) => (await c.query(sql)).rows);

test("the standby streams from the primary through its slot, listens on its own port, and is in recovery", async () => {
    await createHotStandby(spec);
    expect(await standbyStatus(spec)).toMatchObject({ running: true, inRecovery: true, streaming: true });
    expect(await on(spec.loc, "SELECT current_setting('port') AS port, current_setting('work_mem') AS w")).toEqual([{ port: String(spec.loc.port), w: "8MB" }]);
    expect(await on(primary, "SELECT slot_name, slot_type, active FROM pg_replication_slots")).toEqual([{ slot_name: "stagewise_standby", slot_type: "physical", active: true }]);
});

test("a commit on the primary becomes visible on the standby, which refuses writes", async () => {
    await on(primary, "INSERT INTO t SELECT generate_series(1, 100)");
    let seen = 0;
    for (let i = 0; i < 100 && seen !== 100; i++) {
        seen = Number((await on(spec.loc, "SELECT count(*) AS n FROM t"))[0].n);
        await new Promise((r) => setTimeout(r, 100));
    }
    expect(seen).toBe(100);
    await expect(on(spec.loc, "INSERT INTO t VALUES (1)")).rejects.toThrow("cannot execute INSERT in a read-only transaction");
});

test("removing the standby stops it, drops its slot on the primary and removes its folder", async () => {
    await removeHotStandby(spec);
    expect(await on(primary, "SELECT count(*)::int AS n FROM pg_replication_slots")).toEqual([{ n: 0 }]);
    expect(fs.existsSync(spec.loc.serverDir)).toBe(false);
});
