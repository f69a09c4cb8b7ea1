// The checks that keep each key to the shape of stage it belongs to (schema.ts): a production stage,
// a staging stage bound to production, or (drRules.ts) a DR site. Each says why the key is not for
// this stage. No Pulumi here.
import { planLogShipping } from "../shipping/schedule";
import type { CrossCheck, PathProblem } from "./checkTypes";

export const stagingLocksAreOnProduction: CrossCheck = {
    name: "a staging stage takes its locks on production",
    needs: ["stage", "locks", "production"],
    check: (config) =>
        config.stage !== "production" && Object.keys(config.locks).length > 0 && config.production === undefined
            ? [{ path: ["locks"], message: "a staging stage takes its locks on production (set production.stack to the production stack's name)" }]
            : [],
};

export const copyIsForBoundStaging: CrossCheck = {
    name: "a copy is for a staging stage bound to production",
    needs: ["copy", "stage", "production"],
    check: (config) =>
        config.copy !== undefined && (config.stage === "production" || config.production === undefined)
            ? [{ path: ["copy"], message: config.stage === "production" ? "is for staging stages (production is the source)" : "needs production.stack (the stack to copy from)" }]
            : [],
};

export const standbysAreForProduction: CrossCheck = {
    name: "standbys are for production",
    needs: ["standbys", "stage"],
    check: (config) =>
        Object.keys(config.standbys).length > 0 && config.stage !== "production"
            ? [{ path: ["standbys"], message: "are for production (staging stages are rebuilt by copies)" }]
            : [],
};

export const declaredPrimaryIsServerOrHot: CrossCheck = {
    name: "the declared primary is the server or a hot standby",
    needs: ["primary", "standbys", "servers", "stage"],
    check(config) {
        if (config.primary === undefined) {
            return [];
        }
        const hot = Object.keys(config.standbys).filter((n) => config.standbys[n].tier === "hot");
        const candidates = [...Object.keys(config.servers), ...hot];
        const tier = config.standbys[config.primary]?.tier;
        if (config.stage !== "production") {
            return [{ path: ["primary"], message: "is for production (the stage with standbys)" }];
        }
        if (tier !== undefined && tier !== "hot") {
            return [{ path: ["primary"], message: `"${config.primary}" is a ${tier} standby (only the server or a hot standby can be the primary: ${candidates.join(", ")})` }];
        }
        if (!candidates.includes(config.primary)) {
            return [{ path: ["primary"], message: `"${config.primary}" is not the server or a hot standby of this stage (use one of: ${candidates.join(", ")})` }];
        }
        return [];
    },
};

export const shippingIsProductionsAndMeetsRpo: CrossCheck = {
    name: "shipping is production's, and its schedule meets the rpo",
    needs: ["shipping", "stage", "servers", "rpo"],
    check(config) {
        if (config.shipping === undefined) {
            return [];
        }
        const problems: PathProblem[] = [];
        if (config.stage !== "production") {
            problems.push({ path: ["shipping"], message: "is for production (the stage whose WAL is shipped)" });
        } else if (Object.keys(config.servers).length > 1) {
            problems.push({ path: ["shipping"], message: "needs a production stage with one server (the primary whose WAL is shipped)" });
        }
        // The schedule must meet the accepted data loss; the message shows the arithmetic.
        const plan = planLogShipping({ rpo: config.rpo, ...config.shipping });
        for (const problem of plan.ok ? [] : plan.problems) {
            const key = (["logBackupInterval", "shipInterval", "applyDelay"] as const).find((k) => problem.startsWith(`${k}: `));
            problems.push({ path: key ? ["shipping", key] : ["shipping"], message: key ? problem.slice(key.length + 2) : problem });
        }
        return problems;
    },
};

export const promotionIsProductions: CrossCheck = {
    name: "promotion is production's",
    needs: ["stage", "promotion"],
    check: (config) => (config.stage !== "production" && config.promotion !== undefined ? [{ path: ["promotion"], message: "is for production (staging stages apply what is declared)" }] : []),
};

export const productionBindsToNoStage: CrossCheck = {
    name: "production binds to no other stage",
    needs: ["stage", "production"],
    check: (config) =>
        config.stage === "production" && config.production !== undefined ? [{ path: ["production"], message: "is for staging stages (production binds to no other stage)" }] : [],
};
