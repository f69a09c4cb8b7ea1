// A configuration given as a typed object (a library component's args): the same problems, with the
// same messages, as the stack's configuration, thrown as one error listing them all.
import {
    checkStageConfig,
    DisasterRecoverySiteConfigInput,
    parseStageConfig,
    ProductionStageConfigInput,
    StageConfigError,
    StagingStageConfigInput,
    validateDisasterRecoverySite,
    validateProductionStage,
    validateStagingStage,
} from "../../../components/config/config";

const production: ProductionStageConfigInput = { servers: { "prod-db": { port: 55432 } }, standbys: { "prod-hot": { tier: "hot", port: 55433 } } };
const staging: StagingStageConfigInput = { servers: { t: { port: 55442 } }, production: { stack: "organization/stagewise/prod" }, copy: { trigger: "1" } };
const dr: DisasterRecoverySiteConfigInput = { servers: { "prod-db": { port: 56432 } }, licenseKey: "LIC-DR", disasterRecovery: { of: "organization/stagewise/prod", tier: "cold" } };

// The input types hold the keys of their own shape only (checked by tsc).
// @ts-expect-error a production stage takes no copy
const productionWithCopy: ProductionStageConfigInput = { ...production, copy: { trigger: "1" } };
// @ts-expect-error a staging stage has no standbys
const stagingWithStandbys: StagingStageConfigInput = { ...staging, standbys: {} };
// @ts-expect-error a DR site needs its own licence key
const drWithoutLicence: DisasterRecoverySiteConfigInput = { servers: dr.servers, disasterRecovery: dr.disasterRecovery };

test("a valid production stage comes back filled, its stage implied", () => {
    const config = validateProductionStage(production);
    expect([config.stage, config.rpo, config.standbys, config.servers]).toEqual([
        "production",
        "4h",
        { "prod-hot": { tier: "hot", port: 55433, host: "127.0.0.1", settings: {}, synchronous: false } },
        { "prod-db": { port: 55432, host: "127.0.0.1", settings: {}, retain: false } },
    ]);
});

test("a staging stage takes its kind, a DR site is a production stage", () => {
    expect(validateStagingStage("test", staging).stage).toBe("test");
    expect(validateStagingStage("development", staging).copy).toEqual({ trigger: "1", waitSeconds: 0 });
    const site = validateDisasterRecoverySite(dr);
    expect([site.stage, site.disasterRecovery?.tier, site.licenseKey]).toEqual(["production", "cold", "LIC-DR"]);
});

test("every problem at once, field and cross-field, in one error with the stack's messages", () => {
    const bad = { ...productionWithCopy, rpo: "90x", servers: { "prod-db": { port: 80 } } };
    let thrown: unknown;
    try {
        validateProductionStage(bad, {}, 'ProductionStage "prod"');
    } catch (e) {
        thrown = e;
    }
    expect(thrown).toBeInstanceOf(StageConfigError);
    expect((thrown as StageConfigError).problems).toEqual([
        "servers.prod-db.port: 80 is not a port (use a whole number from 1024 to 65535)",
        'rpo: "90x" is not a duration (use e.g. "15m", "4h", "1h30m")',
        "copy: is for staging stages (production is the source)",
    ]);
    expect((thrown as Error).message).toBe(
        'ProductionStage "prod" has 3 problems:\n' +
            "  - servers.prod-db.port: 80 is not a port (use a whole number from 1024 to 65535)\n" +
            '  - rpo: "90x" is not a duration (use e.g. "15m", "4h", "1h30m")\n' +
            "  - copy: is for staging stages (production is the source)",
    );
});

test("the wrong shape's keys are refused with the stack's messages", () => {
    expect(() => validateStagingStage("test", stagingWithStandbys)).not.toThrow(); // an empty map is not given
    expect(() => validateStagingStage("test", { ...staging, standbys: { h: { tier: "hot", port: 55443 } } } as StagingStageConfigInput)).toThrow(
        "The stage's configuration has 1 problem:\n  - standbys: are for production (staging stages are rebuilt by copies)",
    );
    expect(() => validateDisasterRecoverySite(drWithoutLicence)).toThrow(
        "The stage's configuration has 1 problem:\n  - licenseKey: a DR site needs its own licence key, re-applied at cutover (set it with: pulumi config set --secret licenseKey <key>)",
    );
});

test("a plain object is judged as the same stack configuration is", () => {
    const values = { stage: "production", servers: { a: { port: 1 } }, copy: { trigger: "1" }, standbys: { a: { tier: "warm", port: 55433 } } };
    const raw = Object.fromEntries(Object.entries(values).map(([k, v]) => [`stagewise:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
    const expected = {
        ok: false,
        problems: [
            "servers.a.port: 1 is not a port (use a whole number from 1024 to 65535)",
            "copy: is for staging stages (production is the source)",
            'standbys.a.tier: "warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })',
        ],
    };
    expect(checkStageConfig(values)).toEqual(expected);
    expect(parseStageConfig(raw, new Set())).toEqual(expected);
});
