// The checks across fields of a stage's configuration, as small named rules. Each rule names the
// top-level keys it reads (`needs`): problems.ts runs every rule whose keys are all valid, so a
// problem in one field never hides a cross-field problem elsewhere. A key given to the wrong shape
// of stage (schema.ts) is refused here, saying why. The rules read the configuration by its
// structure (CheckedConfig) and do not import the schema. No Pulumi here.
import { DATABASE_ROLES } from "../engine/referenceSchema";
import { planLogShipping } from "../shipping/schedule";
import { disasterRecoveryRules } from "./drRules";
import { parseDuration } from "./duration";
import { databasesOf, declared, Members, portedMembers } from "./helpers";

export interface PathProblem {
    path: (string | number)[];
    message: string;
}

/** What a rule may know beyond the configuration: which stack it is, and when. */
export interface CheckContext {
    /** The stack being checked, as organization/project/stack. */
    stack?: { organization: string; project: string; stack: string };
    /** @default the time of the check */
    now?: Date;
}

/** A standby as the rules read it. */
export type StandbyFacts = { tier: "hot"; port: number; synchronous: boolean } | { tier: "warm"; port: number } | { tier: "cold" };

/** One instant of a DR cutover, as the rules read it. */
export interface CutoverFacts {
    targetTime?: string;
    targetName?: string;
    latest?: true;
    disasterTime?: string;
    margin?: string;
}

/** What the rules read of a configuration whose fields each passed their own schema: every key of every shape. */
export interface CheckedConfig extends Members {
    stage: string;
    platform: { kind: string };
    engine: { databases: Record<string, string>; units: Record<string, unknown>; primary?: string };
    rpo: string;
    shipping?: { logBackupInterval: string; shipInterval: string; applyDelay: string };
    production?: object;
    identity?: object;
    standbys: Record<string, StandbyFacts>;
    primary?: string;
    copy?: object;
    promotion?: object;
    backups?: { mode?: "offline" | "online" };
    restore?: object;
    adminObjects: string;
    locks: Record<string, object>;
    superuserPassword?: string;
    applicationPassword?: string;
    licenseKey?: string;
    disasterRecovery?: { of: string };
    cutover?: CutoverFacts;
}

export interface CrossCheck {
    /** What the rule checks, for tests and readers. */
    name: string;
    /** Top-level keys it reads; it runs only when all of them are valid. */
    needs: readonly (keyof CheckedConfig)[];
    check(config: CheckedConfig, context: CheckContext): PathProblem[];
}

export const CROSS_CHECKS: readonly CrossCheck[] = [
    {
        name: "each server has its own port",
        needs: ["servers"],
        check(config) {
            // Two servers of one stage on one port cannot both start.
            const byPort = new Map<number, string>();
            const problems: PathProblem[] = [];
            for (const [name, server] of Object.entries(config.servers)) {
                const other = byPort.get(server.port);
                if (other !== undefined) {
                    problems.push({ path: ["servers", name, "port"], message: `${server.port} is already the port of servers.${other} (give each server its own port)` });
                }
                byPort.set(server.port, name);
            }
            return problems;
        },
    },
    {
        name: "each engine database has its own name",
        needs: ["engine"],
        check(config) {
            const names = Object.values(config.engine.databases);
            return Object.entries(config.engine.databases).flatMap(([role, name], i) =>
                names.indexOf(name) !== i ? [{ path: ["engine", "databases", role], message: `"${name}" is already the name of another engine database (give each its own name)` }] : [],
            );
        },
    },
    {
        name: "a staging stage takes its locks on production",
        needs: ["stage", "locks", "production"],
        check: (config) =>
            config.stage !== "production" && Object.keys(config.locks).length > 0 && config.production === undefined
                ? [{ path: ["locks"], message: "a staging stage takes its locks on production (set production.stack to the production stack's name)" }]
                : [],
    },
    {
        name: "a copy is for a staging stage bound to production",
        needs: ["copy", "stage", "production"],
        check: (config) =>
            config.copy !== undefined && (config.stage === "production" || config.production === undefined)
                ? [{ path: ["copy"], message: config.stage === "production" ? "is for staging stages (production is the source)" : "needs production.stack (the stack to copy from)" }]
                : [],
    },
    {
        name: "standbys are for production",
        needs: ["standbys", "stage"],
        check: (config) =>
            Object.keys(config.standbys).length > 0 && config.stage !== "production"
                ? [{ path: ["standbys"], message: "are for production (staging stages are rebuilt by copies)" }]
                : [],
    },
    {
        name: "standbys follow a stage's only server",
        needs: ["standbys", "servers"],
        check: (config) =>
            Object.keys(config.standbys).length > 0 && Object.keys(config.servers).length > 1
                ? [{ path: ["standbys"], message: "need a production stage with one server (the primary)" }]
                : [],
    },
    {
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
    },
    {
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
    },
    {
        name: "warm standbys need shipping",
        needs: ["standbys", "shipping"],
        check: (config) =>
            Object.entries(config.standbys).flatMap(([name, s]) =>
                s.tier === "warm" && config.shipping === undefined
                    ? [{ path: ["standbys", name, "tier"], message: '"warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })' }]
                    : [],
            ),
    },
    {
        name: "every server and standby has its own port and name",
        needs: ["standbys", "servers"],
        check(config) {
            const problems: PathProblem[] = [];
            const byPort = new Map<number, string>();
            for (const member of portedMembers(config)) {
                const other = byPort.get(member.port);
                // Two servers on one port are reported by the servers' own rule.
                if (other !== undefined && member.key === "standbys") {
                    problems.push({ path: [member.key, member.name, "port"], message: `${member.port} is already the port of ${other} (give each server its own port)` });
                }
                if (other === undefined) {
                    byPort.set(member.port, `${member.key}.${member.name}`);
                }
            }
            for (const name of Object.keys(config.standbys)) {
                if (name in config.servers) {
                    problems.push({ path: ["standbys", name], message: "has the name of a server (give the standby its own name)" });
                }
            }
            return problems;
        },
    },
    ...disasterRecoveryRules,
    {
        name: "an online backup needs every engine database on one server",
        needs: ["backups", "servers"],
        check(config) {
            const holders = Object.keys(config.servers).filter((s) => databasesOf(config, s).length > 0);
            return config.backups?.mode === "online" && holders.length > 1
                ? [{
                      path: ["backups", "mode"],
                      message: `online needs every engine database on one server (one base backup is then one instant for all); they live on ${holders
                          .map((s) => `servers.${s} (${databasesOf(config, s).join(", ")})`)
                          .join(" and ")} (use offline)`,
                  }]
                : [];
        },
    },
    {
        name: "a restore needs backups",
        needs: ["restore", "backups"],
        check: (config) => (config.restore !== undefined && config.backups === undefined ? [{ path: ["restore"], message: "needs backups (declare backups to restore from)" }] : []),
    },
    {
        name: "engine.primary names one of the units",
        needs: ["engine"],
        check(config) {
            const unitNames = Object.keys(config.engine.units);
            const primary = config.engine.primary;
            if (unitNames.length > 0 && primary === undefined) {
                return [{ path: ["engine", "primary"], message: `missing (name the unit that acts: one of ${unitNames.join(", ")})` }];
            }
            if (primary !== undefined && !unitNames.includes(primary)) {
                return [{
                    path: ["engine", "primary"],
                    message: unitNames.length === 0 ? `"${primary}" names no unit (declare engine.units first)` : `"${primary}" is not one of engine.units (${unitNames.join(", ")})`,
                }];
            }
            return [];
        },
    },
    {
        name: "the docker platform builds servers only, with given passwords",
        needs: ["platform", "standbys", "shipping", "copy", "backups", "engine", "superuserPassword", "applicationPassword"],
        check(config) {
            if (config.platform.kind !== "docker") {
                return [];
            }
            // Verified with mocks only (no Docker engine here): what the local platform does beyond servers is refused.
            const problems: PathProblem[] = (["standbys", "shipping", "copy", "backups"] as const)
                .filter((key) => declared(config[key]))
                .map((key) => ({ path: [key], message: "is not available on the docker platform yet (use platform.kind: local)" }));
            if (Object.keys(config.engine.units).length > 0) {
                problems.push({ path: ["engine", "units"], message: "run as local processes: not available on the docker platform yet (use platform.kind: local)" });
            }
            for (const key of ["superuserPassword", "applicationPassword"] as const) {
                if (config[key] === undefined) {
                    problems.push({ path: [key], message: `is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret ${key} <value>)` });
                }
            }
            return problems;
        },
    },
    {
        name: "a copy lands on a stage's only server",
        needs: ["copy", "servers"],
        check: (config) =>
            config.copy !== undefined && Object.keys(config.servers).length > 1 ? [{ path: ["copy"], message: "needs a stage with one server (it receives all engine databases)" }] : [],
    },
    {
        name: "promotion is production's",
        needs: ["stage", "promotion"],
        check: (config) => (config.stage !== "production" && config.promotion !== undefined ? [{ path: ["promotion"], message: "is for production (staging stages apply what is declared)" }] : []),
    },
    {
        name: "production binds to no other stage",
        needs: ["stage", "production"],
        check: (config) =>
            config.stage === "production" && config.production !== undefined ? [{ path: ["production"], message: "is for staging stages (production binds to no other stage)" }] : [],
    },
    {
        name: "each engine database lives on exactly one server",
        needs: ["servers"],
        check(config) {
            const serverNames = Object.keys(config.servers);
            if (serverNames.length <= 1) {
                return [];
            }
            return DATABASE_ROLES.flatMap((role) => {
                const holders = serverNames.filter((s) => config.servers[s].databases?.includes(role));
                return holders.length === 1
                    ? []
                    : [{
                          path: ["servers"],
                          message:
                              holders.length === 0
                                  ? `no server holds the ${role} database (list it in one server's databases)`
                                  : `the ${role} database is listed on ${holders.map((h) => `servers.${h}`).join(" and ")} (list it on one server)`,
                      }];
            });
        },
    },
    {
        name: "something in production can meet an rpo of zero",
        needs: ["stage", "rpo", "standbys", "disasterRecovery"],
        check(config) {
            const synchronous = Object.values(config.standbys).some((s) => s.tier === "hot" && s.synchronous);
            return config.stage === "production" && config.disasterRecovery === undefined && parseDuration(config.rpo) === 0 && !synchronous
                ? [{
                      path: ["rpo"],
                      message:
                          `"${config.rpo}" cannot be met by this stage: only a synchronous standby loses no committed transaction ` +
                          "(add a hot standby with synchronous: true, or accept some data loss and ship WAL often enough: shipping's logBackupInterval + shipInterval <= rpo)",
                  }]
                : [];
        },
    },
];
