// Admin-object promotion through real stacks: test applies and verifies a set, production applies
// only that set, shows exactly which objects change, and refuses a set test has not verified.
import { Stack } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { Client } from "pg";
import { REPO_ROOT, stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
let modelFile: string;
let prod: Stack;
let test_: Stack;
const model = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "admin", "objects.json"), "utf8"));



async function processRows(stack: Stack): Promise<string[]> {
    const cs = (await stageOutputs(stack)).connectionStrings as { work: string };
    const client = new Client({ connectionString: cs.work });
    await client.connect();
    try {
        const { rows } = await client.query(`SELECT "Name" || ' v' || "Version" || ' ' || "RecoveryLevel" AS r FROM "Work"."ProcessDefinition" ORDER BY 1`);
        return rows.map((r) => r.r as string);
    } finally {
        await client.end();
    }
}

const writeModel = (m: unknown) => fs.writeFileSync(modelFile, JSON.stringify(m, null, 2));

beforeAll(async () => {
    workspace = throwawayWorkspace();
    // Admin objects are read from the project's admin/ folder only (the program's project is this repository).
    const relative = path.join("admin", `e2e-promotion-${process.pid}.json`);
    modelFile = path.join(REPO_ROOT, relative);
    writeModel(model);
    prod = await stageStack(workspace, "prod", "production", { promotion: { from: "organization/stagewise/test" }, adminObjects: relative });
    test_ = await stageStack(workspace, "test", "test", { adminObjects: relative });
});

afterAll(() => {
    if (modelFile !== undefined) fs.rmSync(modelFile, { force: true });
    workspace?.dispose();
});

test("production holds its admin objects back until test has verified a set", async () => {
    await prod.up({ color: "never" });
    const out = await stageOutputs(prod);
    expect(out.adminObjects).toMatchObject({ verified: false, objects: {} });
    expect(out.adminObjects.held).toBe(
        "admin objects held back: the test stage (organization/stagewise/test) has verified none yet; bring test up, then production again",
    );
    expect(await processRows(prod)).toEqual([]);
});

test("test applies and verifies the set; production then applies exactly that set", async () => {
    await test_.up({ color: "never" });
    const onTest = (await stageOutputs(test_)).adminObjects;
    expect(onTest.verified).toBe(true);
    expect(Object.keys(onTest.objects)).toEqual(["process/audit-ping", "process/invoice-run", "process/order-approval", "trigger/nightly-invoices"]);

    await prod.up({ color: "never" });
    const onProd = (await stageOutputs(prod)).adminObjects;
    expect(onProd).toEqual({ hash: onTest.hash, verified: true, objects: onTest.objects });
    expect(await processRows(prod)).toEqual(["audit-ping v1 none", "invoice-run v1 process", "order-approval v1 full"]);
});

test("once test verified a change, production's preview --diff shows exactly the changed object", async () => {
    const changed = JSON.parse(JSON.stringify(model));
    changed.processes["order-approval"].version = 2;
    changed.processes["order-approval"].steps.push("archive");
    writeModel(changed);
    await test_.up({ color: "never" });

    const preview = await prod.preview({ color: "never", diff: true });
    expect(preview.changeSummary.update).toBe(1);
    expect(preview.stdout).toMatch(/~ pulumi-nodejs:dynamic\/stagewise:AdminObject: \(update\)\s+\[id=process\/order-approval\]/);
    expect(preview.stdout).toMatch(/~ version\s*: 1 => 2/);
    expect(preview.stdout).not.toMatch(/invoice-run\]/);
    await prod.up({ color: "never" });
    expect(await processRows(prod)).toEqual(["audit-ping v1 none", "invoice-run v1 process", "order-approval v2 full"]);
});

test("production refuses a set test has not verified, naming what test lacks, and changes nothing", async () => {
    const unverified = JSON.parse(fs.readFileSync(modelFile, "utf8"));
    unverified.processes["refund"] = { version: 1, recoveryLevel: "full", steps: ["refund"] };
    writeModel(unverified);
    const message = await prod.up({ color: "never" }).then(() => "succeeded", (err: Error) => err.message);
    expect(message).toMatch(
        /production refuses admin objects [0-9a-f]{12}: the test stage \(organization\/stagewise\/test\) verified another set; differences: process\/refund \(not on test\)\. Apply them on test first \(pulumi up --stack test\), then on production\./,
    );
    expect(await processRows(prod)).toEqual(["audit-ping v1 none", "invoice-run v1 process", "order-approval v2 full"]);
});
