// A site's own identity rows (Server.Server, HostServer.LicenseKey) recorded through the real engine,
// kept as secrets, and put back after another site's rows replaced them.
import { Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as path from "path";
import { stageOutputs, stageStack, throwawayWorkspace, ThrowawayWorkspace } from "../harness/engine";
import { queryUrl } from "../harness/postgres";

jest.setTimeout(300_000);

let workspace: ThrowawayWorkspace;
let dr: Stack;

async function configDb(): Promise<string> {
    return ((await stageOutputs(dr)).connectionStrings as Record<string, string>).config;
}

const identityRows = async () =>
    (await queryUrl<{ r: string }>(await configDb(), `SELECT s."ServerName" || ' ' || l."LicenseKey" AS r FROM "Server"."Server" s JOIN "HostServer"."LicenseKey" l USING ("ServerName") ORDER BY 1`)).map((x) => x.r);

beforeAll(async () => {
    workspace = throwawayWorkspace();
    dr = await stageStack(workspace, "dr", "test");
    await dr.up({ color: "never" });
    await queryUrl(await configDb(), `INSERT INTO "Server"."Server" VALUES ('DR-1', 'dr-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('DR-1', 'LIC-DR-SECRET', '2027-01-31')`);
});

afterAll(() => workspace?.dispose());

test("declaring identity records the site's rows, as secrets only", async () => {
    await dr.setConfig("stagewise:identity", { value: JSON.stringify({ reapply: "0" }) });
    await dr.up({ color: "never" });
    expect((await stageOutputs(dr)).identity).toMatchObject({ reappliedAt: "", rowsReapplied: 0 });
    const grep = childProcess.spawnSync("grep", ["-rlF", "LIC-DR-SECRET", path.join(workspace.dir, "state")], { encoding: "utf8" });
    expect(grep.stdout).toBe("");
});

test("after another site's rows replaced them, changing reapply puts this site's rows back", async () => {
    await queryUrl(await configDb(), `DELETE FROM "HostServer"."LicenseKey"; DELETE FROM "Server"."Server"; INSERT INTO "Server"."Server" VALUES ('PROD-1', 'prod-host'); INSERT INTO "HostServer"."LicenseKey" VALUES ('PROD-1', 'LIC-PROD', NULL)`);
    expect(await identityRows()).toEqual(["PROD-1 LIC-PROD"]);
    const quiet = await dr.up({ color: "never" });
    expect(quiet.summary.resourceChanges?.update ?? 0).toBe(0); // nothing re-applied without the trigger
    expect(await identityRows()).toEqual(["PROD-1 LIC-PROD"]);

    await dr.setConfig("stagewise:identity", { value: JSON.stringify({ reapply: "1" }) });
    await dr.up({ color: "never" });
    expect(await identityRows()).toEqual(["DR-1 LIC-DR-SECRET"]);
    const valid = await queryUrl<{ v: string }>(await configDb(), `SELECT "ValidUntil"::text AS v FROM "HostServer"."LicenseKey"`);
    expect(valid).toEqual([{ v: "2027-01-31" }]);
    expect((await stageOutputs(dr)).identity?.rowsReapplied).toBe(2);
});
