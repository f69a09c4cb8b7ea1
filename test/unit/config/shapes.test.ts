// The three shapes of a stage's configuration (production stage, staging stage, DR site): which keys
// each holds, that a key of another shape is refused by a named check with its message, and how a
// checked configuration narrows to its shape and widens back.
import * as fs from "fs";
import * as path from "path";
import {
    checkStageConfig,
    disasterRecoverySiteSchema,
    isDisasterRecoverySite,
    isProductionStage,
    isStagingStage,
    narrowStageConfig,
    productionStageSchema,
    siteOf,
    StageConfig,
    stageConfigSchema,
    stageConfigurationSchema,
    stagingStageSchema,
    widenStageConfig,
} from "../../../components/config/config";
import { CROSS_CHECKS } from "../../../components/config/crossChecks";
import * as drRules from "../../../components/config/drRules";
import * as hostRules from "../../../components/config/hostRules";
import * as memberRules from "../../../components/config/memberRules";
import * as shapeRules from "../../../components/config/shapeRules";

const servers = { "prod-db": { port: 55432 } };
const BASES = {
    production: { stage: "production", servers },
    staging: { stage: "test", servers, production: { stack: "organization/stagewise/prod" } },
    disasterRecovery: { stage: "production", servers, licenseKey: "LIC-DR", disasterRecovery: { of: "organization/stagewise/prod", tier: "warm" } },
};
const checked = (values: Record<string, unknown>): StageConfig => {
    const result = checkStageConfig(values);
    if (!result.ok) throw new Error(result.problems.join("\n"));
    return result.config;
};

test.each([
    ["a production stage", productionStageSchema, "stage, platform, hosts, servers, engine, rpo, shipping, identity, standbys, primary, promotion, backups, restore, adminObjects, locks, superuserPassword, applicationPassword, licenseKey"],
    ["a staging stage", stagingStageSchema, "stage, platform, hosts, servers, engine, rpo, production, identity, copy, backups, restore, adminObjects, locks, superuserPassword, applicationPassword, licenseKey"],
    ["a DR site", disasterRecoverySiteSchema, "stage, platform, hosts, servers, engine, rpo, primary, backups, restore, adminObjects, locks, superuserPassword, applicationPassword, licenseKey, cutover, disasterRecovery"],
])("%s holds its own keys", (_name, schema, keys) => {
    expect(Object.keys(schema.shape).join(", ")).toBe(keys);
});

test("the wide schema holds every key of every shape, and nothing else", () => {
    const everyShape = new Set([productionStageSchema, stagingStageSchema, disasterRecoverySiteSchema].flatMap((s) => Object.keys(s.shape)));
    expect(Object.keys(stageConfigSchema.shape).filter((k) => !everyShape.has(k))).toEqual([]);
    expect([...everyShape].filter((k) => !(k in stageConfigSchema.shape))).toEqual([]);
});

const NOT_FOR_A_DR_SITE = "is not for a DR site (its data comes from production's base backups and shipped WAL)";
// Every key of another shape, given with a valid value, and what the user is told (today's messages, word for word).
test.each<[keyof typeof BASES, string, unknown, string[]]>([
    ["production", "production", { stack: "organization/stagewise/prod" }, ["production: is for staging stages (production binds to no other stage)"]],
    ["production", "copy", { trigger: "1" }, ["copy: is for staging stages (production is the source)"]],
    ["production", "cutover", { latest: true }, ["cutover: is for a DR site (set disasterRecovery.of to the production stack)"]],
    ["staging", "shipping", {}, ["shipping: is for production (the stage whose WAL is shipped)"]],
    ["staging", "standbys", { h: { tier: "hot", port: 55433 } }, ["standbys: are for production (staging stages are rebuilt by copies)"]],
    ["staging", "primary", "prod-db", ["primary: is for production (the stage with standbys)"]],
    ["staging", "promotion", { from: "organization/stagewise/test" }, ["promotion: is for production (staging stages apply what is declared)"]],
    ["staging", "cutover", { latest: true }, ["cutover: is for a DR site (set disasterRecovery.of to the production stack)"]],
    ["staging", "disasterRecovery", { of: "organization/stagewise/prod", tier: "warm" }, [
        "disasterRecovery: needs stage: production (the DR site takes over production's role at cutover)",
        `production: ${NOT_FOR_A_DR_SITE}`,
        "licenseKey: a DR site needs its own licence key, re-applied at cutover (set it with: pulumi config set --secret licenseKey <key>)",
    ]],
    ["disasterRecovery", "shipping", {}, [`shipping: ${NOT_FOR_A_DR_SITE}`]],
    ["disasterRecovery", "standbys", { h: { tier: "hot", port: 55433 } }, [`standbys: ${NOT_FOR_A_DR_SITE}`]],
    ["disasterRecovery", "identity", { reapply: "0" }, [`identity: ${NOT_FOR_A_DR_SITE}`]],
    ["disasterRecovery", "promotion", { from: "organization/stagewise/test" }, [`promotion: ${NOT_FOR_A_DR_SITE}`]],
    ["disasterRecovery", "copy", { trigger: "1" }, ["copy: is for staging stages (production is the source)", `copy: ${NOT_FOR_A_DR_SITE}`]],
    ["disasterRecovery", "production", { stack: "organization/stagewise/prod" }, [
        `production: ${NOT_FOR_A_DR_SITE}`,
        "production: is for staging stages (production binds to no other stage)",
    ]],
])("%s: given %s, is told why not", (site, key, value, problems) => {
    expect(checkStageConfig({ ...BASES[site], [key]: value })).toEqual({ ok: false, problems });
});

test("every key outside a shape has its case above", () => {
    // production with disasterRecovery is a DR site, not a production stage with a foreign key.
    const cases = new Set(["production:production", "production:copy", "production:cutover", "staging:shipping", "staging:standbys", "staging:primary", "staging:promotion", "staging:cutover", "staging:disasterRecovery", "disasterRecovery:shipping", "disasterRecovery:standbys", "disasterRecovery:identity", "disasterRecovery:promotion", "disasterRecovery:copy", "disasterRecovery:production"]);
    const shapes = { production: productionStageSchema, staging: stagingStageSchema, disasterRecovery: disasterRecoverySiteSchema };
    const outside = Object.entries(shapes).flatMap(([site, schema]) =>
        Object.keys(stageConfigSchema.shape).filter((k) => !(k in schema.shape) && !(site === "production" && k === "disasterRecovery")).map((k) => `${site}:${k}`),
    );
    expect(outside.filter((c) => !cases.has(c))).toEqual([]);
});

test.each([
    [{ stage: "production" }, "production"],
    [{ stage: "production", disasterRecovery: { of: "p" } }, "disasterRecovery"],
    [{ stage: "development" }, "staging"],
    [{ stage: "test", disasterRecovery: { of: "p" } }, "staging"],
])("%j is a %s configuration", (config, site) => {
    expect(siteOf(config)).toBe(site);
});

test("a checked configuration narrows to its shape, parses as that shape and widens back", () => {
    const production = checked({ ...BASES.production, standbys: { "prod-hot": { tier: "hot", port: 55433 } }, promotion: { from: "organization/stagewise/test" } });
    const staging = checked({ ...BASES.staging, copy: { trigger: "1" }, standbys: {} });
    const site = checked({ ...BASES.disasterRecovery, cutover: { latest: true } });
    const [p, s, d] = [production, staging, site].map(narrowStageConfig);
    expect([isProductionStage(p), isStagingStage(s), isDisasterRecoverySite(d), isProductionStage(d), isStagingStage(p), isDisasterRecoverySite(s)]).toEqual([true, true, true, false, false, false]);
    expect(Object.keys(s)).toEqual(["stage", "platform", "hosts", "servers", "engine", "rpo", "production", "copy", "adminObjects", "locks"]);
    expect(Object.keys(d)).toEqual(["stage", "platform", "hosts", "servers", "engine", "rpo", "adminObjects", "locks", "licenseKey", "disasterRecovery", "cutover"]);
    expect(p).toEqual(production);
    for (const narrowed of [p, s, d]) {
        expect(stageConfigurationSchema.parse(narrowed)).toEqual(narrowed);
    }
    expect([production, staging, site].map((c) => widenStageConfig(narrowStageConfig(c)))).toEqual([production, staging, site]);
});

test("a configuration the checks have not passed does not narrow", () => {
    const unchecked = { ...checked(BASES.production), copy: { trigger: "1", waitSeconds: 0 } };
    expect(() => narrowStageConfig(unchecked)).toThrow("not a checked production configuration (copy belongs to another shape): check it with checkStageConfig first");
    const { licenseKey: _, ...withoutLicence } = checked(BASES.disasterRecovery);
    expect(() => narrowStageConfig(withoutLicence)).toThrow("not a checked disasterRecovery configuration (licenseKey is missing): check it with checkStageConfig first");
});

test("every named rule is in CROSS_CHECKS, once", () => {
    const named = [drRules, memberRules, shapeRules, hostRules].flatMap((m) => Object.values(m).filter((v) => typeof v === "object" && v !== null && "check" in v));
    expect(named.length).toBe(CROSS_CHECKS.length);
    expect(named.filter((rule) => !CROSS_CHECKS.includes(rule as never))).toEqual([]);
});

/** Every file a module imports, types included, transitively. */
function importsOf(file: string, seen = new Set<string>()): Set<string> {
    for (const [, spec] of fs.readFileSync(file, "utf8").matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gms)) {
        const target = [`${path.resolve(path.dirname(file), spec)}.ts`, path.resolve(path.dirname(file), spec, "index.ts")].find((f) => fs.existsSync(f));
        if (target !== undefined && !seen.has(target)) {
            seen.add(target);
            importsOf(target, seen);
        }
    }
    return seen;
}

test("the schema and the cross-field checks do not import each other", () => {
    const config = path.resolve(__dirname, "../../../components/config");
    const checks = ["crossChecks", "checkTypes", "shapeRules", "memberRules", "drRules", "hostRules"].map((f) => path.join(config, `${f}.ts`));
    const schema = ["schema", "fields", "standbySchemas", "hostSchema"].map((f) => path.join(config, `${f}.ts`));
    const reached = (from: string[]) => new Set(from.flatMap((f) => [...importsOf(f)]));
    expect(schema.filter((f) => reached(checks).has(f)).map((f) => path.basename(f))).toEqual([]);
    expect(checks.filter((f) => reached(schema).has(f)).map((f) => path.basename(f))).toEqual([]);
    expect(reached(checks).has(path.join(config, "helpers.ts"))).toBe(true); // the walk does follow imports
});
