// Administrative locks and bindings as rows in a real server's configuration database.
import * as fs from "fs";
import { bootstrap, ClusterLocation, initCluster, restartCluster, startCluster, writeSettings } from "../../components/postgres/cluster";
import { acquireLock, bind, currentLock, listBindings, releaseLock, unbind, withClient } from "../../components/locks/lockRows";
import { clusterLocation, removeCluster, tempDir } from "../harness/postgres";

jest.setTimeout(120_000);

let root: string;
let loc: ClusterLocation;
let config: string;

beforeAll(async () => {
    root = tempDir("stagewise-locks-");
    loc = await clusterLocation(root);
    initCluster(loc, "su-pw");
    writeSettings(loc, {});
    startCluster(loc);
    await bootstrap(loc, "su-pw", { ownerRole: "engine", ownerPassword: "app-pw", databases: [{ name: "config", schemaSql: "" }] });
    config = `postgresql://engine:app-pw@127.0.0.1:${loc.port}/config`;
});

afterAll(() => {
    removeCluster(loc);
    fs.rmSync(root, { recursive: true, force: true });
});

const dev = { scope: "copy", holder: "stagewise/dev", stage: "development", reason: "copy production to dev" };
const test_ = { scope: "copy", holder: "stagewise/test", stage: "test", reason: "copy production to test" };

test("a lock is taken once, re-taken by its holder without change, and refused to anyone else naming the holder", async () => {
    await withClient(config, async (c) => {
        const first = await acquireLock(c, dev);
        const again = await acquireLock(c, dev);
        expect(again).toEqual(first);
        const error = await acquireLock(c, test_).then(() => undefined, (e: Error & { held?: unknown }) => e);
        expect(error?.held).toEqual(first);
        expect(error?.message).toBe(
            `administrative lock "copy" is held by stagewise/dev (development) since ${first.acquiredAt}: copy production to dev. ` +
                'Wait for it to be released, or, if stagewise/dev no longer exists, break it explicitly with breakHeldBy: "stagewise/dev"',
        );
    });
});

test("the lock survives a server restart", async () => {
    restartCluster(loc);
    await withClient(config, async (c) => expect((await currentLock(c, "copy"))?.holder).toBe("stagewise/dev"));
});

test("a bounded wait gets the lock once its holder releases it", async () => {
    await withClient(config, async (waiter) => {
        const waiting = acquireLock(waiter, { ...test_, waitSeconds: 10 });
        await new Promise((r) => setTimeout(r, 300));
        await withClient(config, async (c) => expect(await releaseLock(c, "copy", "stagewise/dev")).toBe(true));
        expect((await waiting).holder).toBe("stagewise/test");
    });
});

test("a lock is broken only when the breaker names its holder exactly; release by another holder does nothing", async () => {
    await withClient(config, async (c) => {
        await expect(acquireLock(c, { ...dev, breakHeldBy: "stagewise/other" })).rejects.toThrow('administrative lock "copy" is held by stagewise/test');
        expect(await releaseLock(c, "copy", "stagewise/dev")).toBe(false);
        const broken = await acquireLock(c, { ...dev, breakHeldBy: "stagewise/test" });
        expect(broken.holder).toBe("stagewise/dev");
        expect(await releaseLock(c, "copy", "stagewise/dev")).toBe(true);
        expect(await releaseLock(c, "copy", "stagewise/dev")).toBe(false);
        expect(await currentLock(c, "copy")).toBeUndefined();
    });
});

test("bindings are recorded once per staging server and removed on unbind", async () => {
    await withClient(config, async (c) => {
        await bind(c, { stagingStack: "stagewise/test", stagingServer: "test-db", stage: "test", endpoint: "127.0.0.1:1" });
        await bind(c, { stagingStack: "stagewise/dev", stagingServer: "dev-db", stage: "development", endpoint: "127.0.0.1:2" });
        await bind(c, { stagingStack: "stagewise/dev", stagingServer: "dev-db", stage: "development", endpoint: "127.0.0.1:3" });
        expect((await listBindings(c)).map((b) => [b.stagingStack, b.stagingServer, b.endpoint])).toEqual([
            ["stagewise/dev", "dev-db", "127.0.0.1:3"],
            ["stagewise/test", "test-db", "127.0.0.1:1"],
        ]);
        await unbind(c, "stagewise/dev", "dev-db");
        await unbind(c, "stagewise/dev", "dev-db");
        expect((await listBindings(c)).map((b) => b.stagingServer)).toEqual(["test-db"]);
    });
});
