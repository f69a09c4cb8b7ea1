// The configuration of one stage as zod schemas: the three shapes a stage takes (a production stage,
// a staging stage, a disaster-recovery site), each with the keys that make sense for it, and the wide
// shape a stack's configuration is parsed with first, every key optional beyond its own shape. A key
// given to the wrong shape is refused by a named check (crossChecks.ts), which says why; problems.ts
// runs both and collects every problem.
import { z } from "zod";
import { STAGE_FIELDS } from "./fields";
import { declared } from "./helpers";
import { expect, strictObject } from "./primitives";
import { disasterRecovery } from "./standbySchemas";

export { show, STAGE_KINDS, duration } from "./primitives";
export type { StageKind } from "./primitives";
export type { CutoverConfig, StandbyConfig } from "./standbySchemas";
export { databasesOf, declaredPorts, settingsText } from "./helpers";
export { SECRET_KEYS, serverSchema } from "./fields";
export type { EngineConfig, PlatformConfig, ServerConfig } from "./fields";

/** Every key of every shape: what a stack's configuration is parsed with, field by field. */
export const stageConfigSchema = strictObject(STAGE_FIELDS);
/** The parsed configuration as components read it today: every key of every shape, those of other shapes optional. */
export type StageConfig = z.output<typeof stageConfigSchema>;

type Field = Exclude<keyof typeof STAGE_FIELDS, "stage">;
/** The fields of these keys, in the order of STAGE_FIELDS (the order messages list them). */
function fields<K extends Field>(...keys: K[]): Pick<typeof STAGE_FIELDS, K> {
    return Object.fromEntries(Object.entries(STAGE_FIELDS).filter(([key]) => (keys as string[]).includes(key))) as Pick<typeof STAGE_FIELDS, K>;
}
/** The keys every shape has. */
const COMMON = ["platform", "hosts", "servers", "engine", "rpo", "backups", "restore", "adminObjects", "locks", "superuserPassword", "applicationPassword"] as const;

/** A production stage: its server, standbys, log shipping, and the admin objects it may promote from test. */
export const productionStageSchema = strictObject({
    stage: z.literal("production", { error: expect("production", "a production stage has stage: production") }),
    ...fields(...COMMON, "licenseKey", "shipping", "identity", "standbys", "primary", "promotion"),
});

/** A staging stage (development or test): bound to production, rebuilt by copies of its databases. */
export const stagingStageSchema = strictObject({
    stage: z.enum(["development", "test"], { error: expect("a staging stage kind", "use development or test") }),
    ...fields(...COMMON, "licenseKey", "production", "identity", "copy"),
});

/** A disaster-recovery site: a production stage's stand-in, fed by its base backups and WAL until cutover. */
export const disasterRecoverySiteSchema = strictObject({
    stage: z.literal("production", { error: expect("production", "a DR site has stage: production") }),
    // primary can only name the site's server (the checks say so): accepted, as it always was.
    ...fields(...COMMON, "primary"),
    /** This site's own licence key, re-applied at cutover. */
    licenseKey: STAGE_FIELDS.licenseKey.unwrap(),
    ...fields("cutover"),
    /** The production stack this site stands by for, and how. */
    disasterRecovery,
});

/**
 * The three shapes, told apart by `stage`, then (on production) by `disasterRecovery`: zod's
 * discriminatedUnion needs one literal key, and `stage` alone does not tell production from its DR site.
 */
export const stageConfigurationSchema = z.union([productionStageSchema, stagingStageSchema, disasterRecoverySiteSchema]);

export type ProductionConfig = z.output<typeof productionStageSchema>;
export type StagingConfig = z.output<typeof stagingStageSchema>;
export type DisasterRecoveryConfig = z.output<typeof disasterRecoverySiteSchema>;
/** A validated configuration in its own shape. */
export type StageConfiguration = ProductionConfig | StagingConfig | DisasterRecoveryConfig;

/** What a user writes for each shape, without `stage` (the component implies it). */
export type ProductionStageConfigInput = Omit<z.input<typeof productionStageSchema>, "stage">;
export type StagingStageConfigInput = Omit<z.input<typeof stagingStageSchema>, "stage">;
export type DisasterRecoverySiteConfigInput = Omit<z.input<typeof disasterRecoverySiteSchema>, "stage">;

export type Site = "production" | "staging" | "disasterRecovery";
const SHAPES = { production: productionStageSchema, staging: stagingStageSchema, disasterRecovery: disasterRecoverySiteSchema } as const;

/** Which shape a configuration has: production with disasterRecovery is a DR site. */
export function siteOf(config: { stage: string; disasterRecovery?: unknown }): Site {
    return config.stage !== "production" ? "staging" : config.disasterRecovery !== undefined ? "disasterRecovery" : "production";
}

export const isProductionStage = (config: StageConfiguration): config is ProductionConfig => siteOf(config) === "production";
export const isStagingStage = (config: StageConfiguration): config is StagingConfig => siteOf(config) === "staging";
export const isDisasterRecoverySite = (config: StageConfiguration): config is DisasterRecoveryConfig => siteOf(config) === "disasterRecovery";

/**
 * A checked configuration in its own shape: the keys of its shape, without those of the others (which
 * the checks allow only empty or absent). Throws on a configuration the checks have not passed.
 */
export function narrowStageConfig(config: StageConfig): StageConfiguration {
    const site = siteOf(config);
    const keys = new Set(Object.keys(SHAPES[site].shape));
    const entries = Object.entries(config);
    const foreign = entries.filter(([key, value]) => !keys.has(key) && declared(value)).map(([key]) => key);
    if (foreign.length > 0 || (site === "disasterRecovery" && config.licenseKey === undefined)) {
        throw new Error(`not a checked ${site} configuration (${foreign.length > 0 ? `${foreign.join(", ")} ${foreign.length === 1 ? "belongs" : "belong"} to another shape` : "licenseKey is missing"}): check it with checkStageConfig first`);
    }
    return Object.fromEntries(entries.filter(([key, value]) => keys.has(key) && value !== undefined)) as StageConfiguration;
}

/** A configuration in its own shape, as the components read it (`standbys` is `{}` outside production). */
export function widenStageConfig(config: StageConfiguration): StageConfig {
    return { standbys: {}, ...config };
}
