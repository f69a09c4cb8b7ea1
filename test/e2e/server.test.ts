// A stage's PostgreSQL server through the real engine and a real cluster: bootstrap, secrets kept out
// of state, reload versus restart, drift repaired, retention, and refusals before anything changes.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { stageOutputsSchema } from "../../components/outputs";
import { freePort, throwawayProject, ThrowawayProject } from "../harness/engine";
import { queryUrl, stopByHand } from "../harness/postgres";

jest.setTimeout(300_000);

let project: ThrowawayProject;
let dataRoot: string;
let port: number;

async function setServer(settings: Record<string, string>, extra: Record<string, unknown> = {}): Promise<void> {
    await project.stack.setConfig("stagewise:servers", { value: JSON.stringify({ db: { port, settings, ...extra } }) });
}

async function outputs() {
    const raw = Object.fromEntries(Object.entries(await project.stack.outputs()).map(([k, v]) => [k, v.value]));
    return stageOutputsSchema.parse(raw);
}


beforeAll(async () => {
    port = await freePort();
    project = await throwawayProject("srv", { "stagewise:stage": "test" });
    dataRoot = path.join(project.dir, "data");
    await project.stack.setConfig("stagewise:platform", { value: JSON.stringify({ kind: "local", dataRoot }) });
    await setServer({ work_mem: "4MB" });
});

afterAll(async () => {
    await project?.stack.destroy({ color: "never" }).catch(() => undefined);
    await project?.dispose();
});

test("up creates the server and its databases with the reference schema, reachable through the exported connection strings", async () => {
    const result = await project.stack.up({ color: "never" });
    expect(result.summary.resourceChanges).toEqual({ create: 12 }); // see engine.test.ts
    const out = await outputs();
    expect(out.servers.db).toMatchObject({ host: "127.0.0.1", port, endpoint: `127.0.0.1:${port}`, running: true });
    expect(out.servers.db.databases).toEqual(["work", "business", "config"]);
    if (out.connectionStrings === "[secret]") {
        throw new Error("outputs() should show secrets");
    }
    const tables = await queryUrl<{ t: string }>(
        out.connectionStrings.config,
        "SELECT schemaname || '.' || tablename AS t FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    expect(tables.map((r) => r.t)).toEqual(["HostServer.LicenseKey", "Server.Server"]);
    const work = await queryUrl<{ t: string }>(out.connectionStrings.work, "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'Work' ORDER BY 1");
    expect(work.map((r) => r.t)).toEqual(["ProcessDefinition", "ProcessInstance", "Trigger"]);
    const checks = await queryUrl<{ c: string }>(out.connectionStrings.work, "SELECT current_setting('data_checksums') AS c");
    expect(checks).toEqual([{ c: "on" }]);
    // initdb ran ahead, while the engine started (server/prepared.ts), and nothing prepared is left.
    expect(JSON.parse(fs.readFileSync(path.join(dataRoot, "db", "stagewise-server.json"), "utf8"))).toMatchObject({ owner: "stagewise/srv", server: "db", initdb: "ahead" });
    expect(fs.readdirSync(dataRoot).sort()).toEqual([".stagewise-data-root.json", "db"]);
});

test("passwords are only ciphertext in the backend's state files", async () => {
    const out = await outputs();
    if (out.connectionStrings === "[secret]") {
        throw new Error("outputs() should show secrets");
    }
    const appPassword = decodeURIComponent(new URL(out.connectionStrings.work).password);
    expect(appPassword.length).toBeGreaterThanOrEqual(24);
    // The state at rest (the backend's files) holds the passwords only as ciphertext.
    const grep = childProcess.spawnSync("grep", ["-rlF", "--", appPassword, path.join(project.dir, "state")], { encoding: "utf8" });
    expect(grep.stdout).toBe("");
    const stateFile = path.join(project.dir, "state", ".pulumi", "stacks", "stagewise", "srv.json");
    const server = (JSON.parse(fs.readFileSync(stateFile, "utf8")).checkpoint.latest.resources as { type: string; outputs: Record<string, unknown> }[])
        .find((r) => r.type === "pulumi-nodejs:dynamic/stagewise:PostgresServer")!;
    for (const key of ["superuserPassword", "applicationPassword"]) {
        expect(Object.keys(server.outputs[key] as object).sort()).toEqual(["4dabf18193072939515e22adb298388d", "ciphertext"]);
    }
}, 60_000);

test("a reload-only setting is applied without a restart; a restart-only one restarts the server", async () => {
    const before = (await outputs()).servers.db.startedAt;
    await setServer({ work_mem: "16MB" });
    await project.stack.up({ color: "never" });
    const afterReload = await outputs();
    expect(afterReload.servers.db.startedAt).toBe(before);
    const cs = afterReload.connectionStrings as { work: string };
    expect(await queryUrl(cs.work, "SELECT current_setting('work_mem') AS v")).toEqual([{ v: "16MB" }]);

    await setServer({ work_mem: "16MB", shared_buffers: "40MB" });
    await project.stack.up({ color: "never" });
    const afterRestart = await outputs();
    expect(afterRestart.servers.db.startedAt).not.toBe(before);
    expect(await queryUrl(cs.work, "SELECT current_setting('shared_buffers') AS v")).toEqual([{ v: "40MB" }]);
    // Settings come back from state with their keys sorted: that is no change.
    expect((await project.stack.preview({ color: "never" })).changeSummary).toEqual({ same: 12 });
});

test("a server stopped behind Pulumi's back shows in preview and refresh, and up starts it again", async () => {
    const serverDir = path.join(dataRoot, "db");
    stopByHand(serverDir);

    const preview = await project.stack.preview({ color: "never" });
    expect(preview.changeSummary).toEqual({ same: 11, update: 1 });

    const refresh = await project.stack.refresh({ color: "never" });
    expect(refresh.summary.resourceChanges).toEqual({ same: 11, update: 1 });
    const state = await project.stack.exportStack();
    const server = state.deployment.resources.find((r: { type: string }) => r.type === "pulumi-nodejs:dynamic/stagewise:PostgresServer");
    expect(server.outputs.running).toBe(false);

    await project.stack.up({ color: "never" });
    const out = await outputs();
    expect(out.servers.db.running).toBe(true);
    expect(await queryUrl((out.connectionStrings as { work: string }).work, "SELECT 1 AS ok")).toEqual([{ ok: 1 }]);
});

test("a port already in use is refused before anything is created, naming the port and its holder", async () => {
    const blocker = net.createServer();
    const busy = await freePort();
    await new Promise<void>((resolve) => blocker.listen(busy, "127.0.0.1", resolve));
    const other = await throwawayProject("busy", {
        "stagewise:stage": "development",
        "stagewise:servers": JSON.stringify({ db: { port: busy } }),
    });
    try {
        const otherRoot = path.join(other.dir, "data");
        await other.stack.setConfig("stagewise:platform", { value: JSON.stringify({ kind: "local", dataRoot: otherRoot }) });
        const error = await other.stack.up({ color: "never" }).then(() => undefined, (err: Error) => err);
        expect(error?.message).toContain(
            `port ${busy} on 127.0.0.1 is already in use by pid ${process.pid} (${fs.readFileSync(`/proc/${process.pid}/cmdline`, "utf8").split("\0").join(" ").trim()}), for more than 5 s; choose another port for server db (servers.db.port)`,
        );
        expect(fs.existsSync(path.join(otherRoot, "db"))).toBe(false);
        await other.stack.destroy({ color: "never" });
    } finally {
        blocker.close();
        await other.dispose();
    }
});

test("a server folder holding someone else's data is refused and left untouched", async () => {
    const other = await throwawayProject("foreign", {
        "stagewise:stage": "development",
        "stagewise:servers": JSON.stringify({ db: { port: await freePort() } }),
    });
    try {
        const otherRoot = path.join(other.dir, "data");
        fs.mkdirSync(path.join(otherRoot, "db"), { recursive: true });
        fs.writeFileSync(path.join(otherRoot, "db", "precious.txt"), "not yours");
        fs.writeFileSync(path.join(otherRoot, ".stagewise-data-root.json"), JSON.stringify({ owner: "stagewise/foreign" }));
        await other.stack.setConfig("stagewise:platform", { value: JSON.stringify({ kind: "local", dataRoot: otherRoot }) });
        const error = await other.stack.up({ color: "never" }).then(() => undefined, (err: Error) => err);
        expect(error?.message).toContain(
            `${path.join(otherRoot, "db")} already exists and is not a stagewise server of this stage; refusing to overwrite or delete it`,
        );
        await other.stack.destroy({ color: "never" });
        expect(fs.readFileSync(path.join(otherRoot, "db", "precious.txt"), "utf8")).toBe("not yours");
    } finally {
        await other.dispose();
    }
});

test("destroy of a retained server stops it and keeps its data; without retain the folder goes", async () => {
    await setServer({ work_mem: "16MB", shared_buffers: "40MB" }, { retain: true });
    await project.stack.up({ color: "never" });
    await project.stack.destroy({ color: "never" });
    expect(fs.existsSync(path.join(dataRoot, "db", "pgdata", "PG_VERSION"))).toBe(true);
    expect(fs.existsSync(path.join(dataRoot, "db", "pgdata", "postmaster.pid"))).toBe(false);
    expect(project.strayProcesses()).toEqual([]);

    fs.rmSync(dataRoot, { recursive: true }); // the operator clears the retained copy
    await setServer({ work_mem: "16MB" });
    await project.stack.up({ color: "never" });
    expect(fs.existsSync(path.join(dataRoot, "db", "pgdata", "PG_VERSION"))).toBe(true);
    await project.stack.destroy({ color: "never" });
    expect(fs.existsSync(dataRoot)).toBe(false);
    expect(project.strayProcesses()).toEqual([]);
});
