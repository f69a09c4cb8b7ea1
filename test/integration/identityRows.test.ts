// The identity rows shared by LicenseReapplication and the staging copy (engine/identityRows.ts),
// against a real server: what is read comes back exactly, identity and generated columns included,
// and a failed put-back changes nothing.
import { bootstrap } from "../../components/postgres/cluster";
import type { ClusterLocation } from "../../components/postgres/cluster";
import { readIdentityRows, replaceIdentityRows } from "../../components/engine/identityRows";
import { withClient } from "../../components/postgres/pg";
import { clusterForFile } from "../harness/postgres";

const PASSWORD = "identity-super";
const TABLES = [
    { schema: "Server", table: "Server" },
    { schema: "HostServer", table: "LicenseKey" },
];
let loc: ClusterLocation;
const config = () => ({ host: loc.host, port: loc.port, user: "postgres", password: PASSWORD, database: "config" });
const on = (sql: string) => withClient(config(), async (c) => (await c.query(sql)).rows);

clusterForFile("stagewise-identity-", PASSWORD, {}, (made) => (loc = made));

beforeAll(async () => {
    await bootstrap(loc, PASSWORD, { ownerRole: "engine", ownerPassword: "app", databases: [{ name: "config", schemaSql: "" }] });
    await on(`
        CREATE SCHEMA "Server"; CREATE SCHEMA "HostServer";
        CREATE TABLE "Server"."Server" ("Id" int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "Name" text NOT NULL, r text,
                                        "Upper" text GENERATED ALWAYS AS (upper("Name")) STORED);
        CREATE TABLE "HostServer"."LicenseKey" ("ServerId" int REFERENCES "Server"."Server", "Key" text, "ValidUntil" timestamptz);
        INSERT INTO "Server"."Server" ("Name", r) VALUES ('DR-1', 'site r');
        INSERT INTO "HostServer"."LicenseKey" VALUES (1, 'LIC-DR', '2027-01-31 00:00:00+00');`);
});

const current = () =>
    on(`SELECT s."Id", s."Name", s.r, s."Upper", k."Key", k."ValidUntil"::text AS "ValidUntil"
        FROM "Server"."Server" s LEFT JOIN "HostServer"."LicenseKey" k ON k."ServerId" = s."Id" ORDER BY s."Id"`);

test("rows read in one snapshot come back exactly after another site's replaced them: identity, generated and a column named r", async () => {
    const own = await withClient(config(), (c) => readIdentityRows(c, TABLES));
    expect(own).toEqual({
        "Server.Server": [{ Id: 1, Name: "DR-1", r: "site r", Upper: "DR-1" }],
        "HostServer.LicenseKey": [{ ServerId: 1, Key: "LIC-DR", ValidUntil: "2027-01-31T00:00:00+00:00" }],
    });
    // A copy or restore brings production's rows.
    await on(`DELETE FROM "HostServer"."LicenseKey"; DELETE FROM "Server"."Server";
              INSERT INTO "Server"."Server" ("Id", "Name", r) OVERRIDING SYSTEM VALUE VALUES (7, 'PROD-1', NULL);
              INSERT INTO "HostServer"."LicenseKey" VALUES (7, 'LIC-PROD', NULL);`);

    expect(await withClient(config(), (c) => replaceIdentityRows(c, TABLES, own))).toBe(2);
    expect(await current()).toEqual([{ Id: 1, Name: "DR-1", r: "site r", Upper: "DR-1", Key: "LIC-DR", ValidUntil: "2027-01-31 00:00:00+00" }]);
});

test("a put-back that fails changes nothing", async () => {
    const before = await current();
    const broken = { "Server.Server": [{ Id: 2, Name: null }], "HostServer.LicenseKey": [] }; // "Name" is NOT NULL
    await expect(withClient(config(), (c) => replaceIdentityRows(c, TABLES, broken))).rejects.toThrow('null value in column "Name"');
    expect(await current()).toEqual(before);
});
