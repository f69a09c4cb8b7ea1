// Production's databases copied onto a staging server through the real engine: under production's
// copy lock, verified, staging keeps its identity, and repeated only when the trigger changes.
import { Stack } from "@pulumi/pulumi/automation";
import { Client } from "pg";
import { stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";

jest.setTimeout(600_000);

let workspace: ThrowawayWorkspace;
const stacks: Record<string, Stack> = {};
const PRODUCTION = "organization/stagewise/prod";



async function sql<T>(stack: Stack, database: "work" | "business" | "config", text: string): Promise<T[]> {
    const cs = (await stageOutputs(stack)).connectionStrings as Record<string, string>;
    const client = new Client({ connectionString: cs[database] });
    await client.connect();
    try {
        return (await client.query(text)).rows as T[];
    } finally {
        await client.end();
    }
}

const identityRows = (stack: Stack) =>
    sql<{ r: string }>(stack, "config", `SELECT s."ServerName" || ' ' || l."LicenseKey" AS r FROM "Server"."Server" s JOIN "HostServer"."LicenseKey" l USING ("ServerName")`);

beforeAll(async () => {
    workspace = throwawayWorkspace();
    stacks.prod = await stageStack(workspace, "prod", "production", {});
    stacks.test = await stageStack(workspace, "test", "test", { production: { stack: PRODUCTION } });
    await stacks.prod.up({ color: "never" });
    await stacks.test.up({ color: "never" });
    await sql(stacks.prod, "business", `INSERT INTO "Business"."Document" ("Reference", "Payload") SELECT 'DOC-' || g, jsonb_build_object('n', g) FROM generate_series(1, 2500) g`);
    await sql(stacks.prod, "config", `INSERT INTO "Server"."Server" VALUES ('PROD-1', 'prod-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('PROD-1', 'LIC-PROD')`);
    await sql(stacks.test, "config", `INSERT INTO "Server"."Server" VALUES ('TEST-1', 'test-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('TEST-1', 'LIC-TEST')`);
    await sql(stacks.test, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('TEST-ONLY')`);
});

afterAll(() => workspace?.dispose());

test("a copy brings production's data to test under production's copy lock, verified, and test keeps its identity", async () => {
    await stacks.test.setConfig("stagewise:copy", { value: JSON.stringify({ trigger: "first" }) });
    const result = await stacks.test.up({ color: "never" });
    expect(result.stdout).toMatch(/copy to test-db: copied \d+ of \d+ kB \(\d+%\)/);

    const copy = (await stageOutputs(stacks.test)).lastCopy!;
    expect(copy).toMatchObject({ trigger: "first", verified: true, identityRowsRestored: 2 });
    expect(copy.sourceSystemIdentifier).toBe((await stageOutputs(stacks.prod)).servers["prod-db"].systemIdentifier);
    expect(copy.tables.find((t) => t.database === "business" && t.table === "Business.Document")?.rows).toBe(2500);

    expect(await sql(stacks.test, "business", `SELECT count(*)::int AS n, count(*) FILTER (WHERE "Reference" = 'TEST-ONLY')::int AS own FROM "Business"."Document"`)).toEqual([{ n: 2500, own: 0 }]);
    expect(await identityRows(stacks.test)).toEqual([{ r: "TEST-1 LIC-TEST" }]);
    expect(await identityRows(stacks.prod)).toEqual([{ r: "PROD-1 LIC-PROD" }]);
    // The lock was released after the copy.
    expect(await sql(stacks.prod, "config", `SELECT count(*)::int AS n FROM "stagewise"."AdministrativeLock"`)).toEqual([{ n: 0 }]);
});

test("another up copies nothing; a new trigger copies again", async () => {
    const before = (await stageOutputs(stacks.test)).lastCopy!.copiedAt;
    await sql(stacks.prod, "business", `INSERT INTO "Business"."Document" ("Reference") VALUES ('LATER')`);
    const quiet = await stacks.test.up({ color: "never" });
    expect(quiet.stdout).not.toContain("copy to test-db");
    expect((await stageOutputs(stacks.test)).lastCopy!.copiedAt).toBe(before);

    await stacks.test.setConfig("stagewise:copy", { value: JSON.stringify({ trigger: "second" }) });
    await stacks.test.up({ color: "never" });
    const after = (await stageOutputs(stacks.test)).lastCopy!;
    expect(after.copiedAt).not.toBe(before);
    expect(after.tables.find((t) => t.table === "Business.Document")?.rows).toBe(2501);
});

test("while another stack holds production's copy lock, a copy fails at once naming the holder, and test is untouched", async () => {
    stacks.dev = await stageStack(workspace, "dev", "development", { production: { stack: PRODUCTION }, locks: { copy: { reason: "dev is copying" } } });
    await stacks.dev.up({ color: "never" });
    await stacks.test.setConfig("stagewise:copy", { value: JSON.stringify({ trigger: "third" }) });
    const message = await stacks.test.up({ color: "never" }).then(() => "succeeded", (err: Error) => err.message);
    expect(message).toContain('administrative lock "copy" is held by stagewise/dev (development)');
    expect((await stageOutputs(stacks.test)).lastCopy!.trigger).toBe("second");
    expect(await sql(stacks.test, "business", `SELECT count(*)::int AS n FROM "Business"."Document"`)).toEqual([{ n: 2501 }]);
    await stacks.dev.destroy({ color: "never" });
});
