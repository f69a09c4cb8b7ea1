import { referenceSchemaSql } from "../../../components/engine/referenceSchema";
import { parseQualifiedName, sqlName } from "../../../components/engine/tables";

test.each([
    ["Server.Server", { schema: "Server", table: "Server" }],
    ["HostServer.LicenseKey", { schema: "HostServer", table: "LicenseKey" }],
    ["a_b.c1", { schema: "a_b", table: "c1" }],
])("parseQualifiedName(%s)", (text, name) => {
    expect(parseQualifiedName(text)).toEqual(name);
});

test.each(["LicenseKey", "a.b.c", "a.", ".b", "a-b.c", 'x".y'])("parseQualifiedName(%j) is not a table name", (text) => {
    expect(parseQualifiedName(text)).toBeUndefined();
});

test("the configuration database's tables follow the configured names, keeping their case", () => {
    const sql = referenceSchemaSql("config", {
        server: { schema: "Cfg", table: "Servers" },
        licenseKey: { schema: "Lic", table: "Keys" },
    });
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "Cfg";\nCREATE TABLE IF NOT EXISTS "Cfg"."Servers" (');
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "Lic";\nCREATE TABLE IF NOT EXISTS "Lic"."Keys" (');
    expect(sqlName({ schema: "HostServer", table: "LicenseKey" })).toBe('"HostServer"."LicenseKey"');
});

test("every statement of the reference schema is idempotent", () => {
    const tables = { server: { schema: "Server", table: "Server" }, licenseKey: { schema: "HostServer", table: "LicenseKey" } };
    for (const role of ["work", "business", "config"] as const) {
        const statements = referenceSchemaSql(role, tables).replace(/--.*$/gm, "").split(";").map((s) => s.trim()).filter(Boolean);
        for (const statement of statements) {
            expect(statement).toMatch(/^CREATE (SCHEMA|TABLE|INDEX) IF NOT EXISTS /);
        }
    }
});
