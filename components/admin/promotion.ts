// AdminObjects: the engine's admin-provided objects applied to a stage. Changes are made on
// development, migrated to test, tested, then migrated to production: production applies a set
// only when the test stage has applied and verified exactly that set (read from test's outputs).
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseRole } from "../engine/referenceSchema";
import { AdminObject as DeclaredObject, adminObjects, loadAdminModel, PromotionState, promotionProblem, setHash } from "./adminModel";
import { StageConfig } from "../config/config";
import { ADMIN_FOLDER, projectFile } from "../config/paths";
import { AdminObject } from "./adminObject";
import { Stage } from "../server/stage";

/** What a stage will do with its admin objects, decided before any resource is declared. */
export interface AdminObjectsPlan {
    declared: DeclaredObject[];
    hash: string;
    /** Production only: why the set is held back (nothing applied), when it is. */
    held?: string;
}

/**
 * Loads the model and decides: apply, or (production) hold back. Throws a RunError, before anything
 * changes, when production would apply a set the test stage has not verified.
 */
export function planAdminObjects(config: StageConfig, onTest: PromotionState | undefined, projectDir = process.cwd()): AdminObjectsPlan {
    // Resolved through any symbolic link and checked again here: the file must really be in admin/.
    const found = projectFile(projectDir, config.adminObjects, ADMIN_FOLDER);
    if ("problem" in found) {
        throw new pulumi.RunError(`adminObjects: ${found.problem}`);
    }
    let declared: DeclaredObject[];
    try {
        declared = adminObjects(loadAdminModel(found.file, config.adminObjects));
    } catch (err) {
        throw new pulumi.RunError(`adminObjects: ${(err as Error).message}`);
    }
    const held = config.stage === "production" ? holdReason(config, declared, onTest) : undefined;
    return { declared, hash: setHash(declared), held };
}

export interface AdminObjectsArgs {
    readonly stage: Stage;
    /** The stage's connection strings for writers (secret): they wait for production's role change (server/stage.ts writesAfter). */
    readonly connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;
    readonly plan: AdminObjectsPlan;
}

export interface AdminObjectsOutput extends PromotionState {
    /** Why production holds its admin objects back, when it does. */
    held?: string;
}

export class AdminObjects extends pulumi.ComponentResource {
    public readonly state: pulumi.Output<AdminObjectsOutput>;

    constructor(name: string, args: AdminObjectsArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:index:AdminObjects", name, {}, opts);
        const { stage, plan } = args;
        const { declared, hash, held } = plan;
        const production = stage.kind === "production";
        if (held !== undefined) {
            pulumi.log.warn(held, this);
            const state: AdminObjectsOutput = { hash, verified: false, objects: {}, held };
            this.state = pulumi.output(state);
            this.registerOutputs({ state: this.state });
            return;
        }

        const connection = args.connectionStrings.apply((cs) => cs.work);
        const resources: Record<string, AdminObject> = {};
        for (const object of declared) {
            const key = `${object.kind}/${object.name}`;
            const process = object.kind === "trigger" ? resources[`process/${object.definition.process as string}`] : undefined;
            resources[key] = new AdminObject(
                `${name}-${object.kind}-${object.name}`,
                { connection, kind: object.kind, name: object.name, definition: object.definition, hash: object.hash },
                {
                    parent: this,
                    dependsOn: [...Object.values(stage.servers), ...(process ? [process] : [])],
                    // Production never deletes engine configuration as a side effect of a program change.
                    retainOnDelete: production,
                },
            );
        }
        this.state = pulumi
            .all(Object.entries(resources).map(([key, r]) => pulumi.all([pulumi.output(key), r.appliedHash, r.verified])))
            .apply((applied) => ({
                hash,
                verified: applied.every(([, , verified]) => verified),
                objects: Object.fromEntries(applied.map(([key, appliedHash]) => [key, appliedHash])),
            }));
        this.registerOutputs({ state: this.state });
    }
}

/** Why production must not apply the declared set now, or undefined when it may. Throws when test verified another set. */
function holdReason(config: StageConfig, declared: DeclaredObject[], verifiedOnTest: PromotionState | undefined): string | undefined {
    if (config.promotion === undefined) {
        return "admin objects held back: production applies only what the test stage verified; set promotion.from to the test stack";
    }
    if (verifiedOnTest === undefined) {
        return `admin objects held back: the test stage (${config.promotion.from}) has verified none yet; bring test up, then production again`;
    }
    const problem = promotionProblem(declared, verifiedOnTest, config.promotion.from);
    if (problem !== undefined) {
        throw new pulumi.RunError(problem);
    }
    return undefined;
}
