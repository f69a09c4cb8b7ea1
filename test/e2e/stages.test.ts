// The main job through the Automation API: the repository's three stage configurations (on free ports
// and throwaway data roots) come up production first, and go down in reverse, production protected.
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { stageOutputsSchema } from "../../components/outputs";
import { downStages, MAIN_JOB_STACKS, upStages } from "../../scripts/stages";
import { freePort, REPO_ROOT, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
const log: string[] = [];

/** The committed Pulumi.<stack>.yaml values, with ports and data root moved out of the way. */
async function stageConfig(stack: string, dataRoot: string): Promise<Record<string, string>> {
    const repo = await LocalWorkspace.create({ workDir: REPO_ROOT });
    const committed = (await repo.stackSettings(stack)).config ?? {};
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(committed)) {
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    const servers = JSON.parse(config["stagewise:servers"]) as Record<string, { port: number }>;
    for (const server of Object.values(servers)) {
        server.port = await freePort();
    }
    config["stagewise:servers"] = JSON.stringify(servers);
    config["stagewise:platform"] = JSON.stringify({ kind: "local", dataRoot });
    return config;
}

beforeAll(async () => {
    workspace = throwawayWorkspace();
    // Stack files only, as in a fresh checkout: the stacks themselves do not exist in the backend yet.
    const project = await LocalWorkspace.create({ workDir: workspace.projectDir, envVars: workspace.envVars });
    for (const stack of MAIN_JOB_STACKS) {
        await project.saveStackSettings(stack, { config: await stageConfig(stack, path.join(workspace.dir, "data", stack)) });
    }
    expect(await project.listStacks()).toEqual([]);
});

afterAll(() => workspace?.dispose());

const opts = () => ({ workDir: workspace.projectDir, envVars: workspace.envVars, onOutput: (t: string) => void log.push(t) });

test("up brings production, then test, then development up, each with outputs that honour the contract", async () => {
    expect(MAIN_JOB_STACKS).toEqual(["prod", "test", "dev"]);
    const outputs = await upStages(MAIN_JOB_STACKS, opts());
    expect(Object.keys(outputs)).toEqual(["prod", "test", "dev"]);
    expect(Object.values(outputs).map((o) => stageOutputsSchema.parse(o).stage)).toEqual(["production", "test", "development"]);
    for (const o of Object.values(outputs)) {
        expect(o.connectionStrings).toBe("[secret]");
    }
    const order = log.join("").match(/=== (\[\d\/3\] )?pulumi up \w+ (again[^=]*)?===/g);
    expect(order).toEqual([
        "=== [1/3] pulumi up prod ===",
        "=== [2/3] pulumi up test ===",
        "=== [3/3] pulumi up dev ===",
        "=== pulumi up prod again: record the staging servers bound to it ===",
    ]);
    // The committed test and dev stacks name production, so both are bound to it.
    expect(stageOutputsSchema.parse(outputs.prod).boundStagingServers?.map((b) => `${b.stagingStack} ${b.stagingServer}`)).toEqual([
        "stagewise/dev dev-db",
        "stagewise/test test-db",
    ]);
    // Three servers side by side, on distinct ports.
    const ports = Object.values(outputs).map((o) => Object.values(stageOutputsSchema.parse(o).servers)[0].port);
    expect(new Set(ports).size).toBe(3);
});

test("`pulumi stack output --json` of each stage parses with the exported contract, secrets hidden or shown", () => {
    for (const stack of MAIN_JOB_STACKS) {
        const cli = (...extra: string[]) =>
            JSON.parse(
                childProcess.execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack, ...extra], {
                    cwd: workspace.projectDir,
                    env: { ...process.env, ...workspace.envVars },
                    encoding: "utf8",
                }),
            );
        expect(stageOutputsSchema.parse(cli()).connectionStrings).toBe("[secret]");
        const shown = stageOutputsSchema.parse(cli("--show-secrets")).connectionStrings as Record<string, string>;
        expect(shown.work).toMatch(/^postgresql:\/\/engine:[^@]{24,}@127\.0\.0\.1:\d+\/work$/);
    }
});

test("production's servers are protected: a plain destroy of prod is refused and deletes nothing", async () => {
    const prod = await LocalWorkspace.selectStack({ stackName: "prod", workDir: workspace.projectDir }, { envVars: workspace.envVars });
    const error = await prod.destroy({ color: "never" }).then(() => undefined, (err: Error) => err);
    expect(error?.message).toMatch(/resource "urn:pulumi:prod::stagewise::stagewise:index:ProductionStage\$stagewise:index:Stage\$pulumi-nodejs:dynamic\/stagewise:PostgresServer::prod-prod-db" cannot be deleted\s+because it is protected/);
    expect(fs.existsSync(path.join(workspace.dir, "data", "prod", "prod-db", "pgdata", "PG_VERSION"))).toBe(true);
});

test("down destroys development, test, then production (lifting its protection), leaving nothing behind", async () => {
    log.length = 0;
    await downStages(MAIN_JOB_STACKS, opts());
    const order = log.join("").match(/=== \[\d\/3\] pulumi destroy \w+ ===/g);
    expect(order).toEqual(["=== [1/3] pulumi destroy dev ===", "=== [2/3] pulumi destroy test ===", "=== [3/3] pulumi destroy prod ==="]);
    // The server and its WAL archive.
    expect(log.join("")).toContain("lifting protection from 2 resource(s) of prod for this deliberate teardown");
    for (const stack of MAIN_JOB_STACKS) {
        expect(fs.existsSync(path.join(workspace.dir, "data", stack))).toBe(false);
    }
    expect(workspace.strayProcesses()).toEqual([]);
});
