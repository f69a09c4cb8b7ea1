// The checks across fields of a stage's configuration (run once every field is valid on its own),
// each problem with its path in the user's own keys. No Pulumi here.
import { DATABASE_ROLES } from "../engine/referenceSchema";
import { planLogShipping } from "../standby/schedule";
import { disasterRecoveryProblems, PathProblem } from "./disasterRecovery";
import { databasesOf } from "./helpers";
import type { StageConfig } from "./schema";

export function stageProblems(config: StageConfig): PathProblem[] {
    const problems: PathProblem[] = [];
    // Two servers of one stage on one port cannot both start.
    const byPort = new Map<number, string>();
    for (const [name, server] of Object.entries(config.servers)) {
        const other = byPort.get(server.port);
        if (other !== undefined) {
            problems.push({
                path: ["servers", name, "port"],
                message: `${server.port} is already the port of servers.${other} (give each server its own port)`,
            });
        }
        byPort.set(server.port, name);
    }
    const names = Object.values(config.engine.databases);
    for (const [i, [role, name]] of Object.entries(config.engine.databases).entries()) {
        if (names.indexOf(name) !== i) {
            problems.push({
                path: ["engine", "databases", role],
                message: `"${name}" is already the name of another engine database (give each its own name)`,
            });
        }
    }
    if (config.stage !== "production" && Object.keys(config.locks).length > 0 && config.production === undefined) {
        problems.push({
            path: ["locks"],
            message: "a staging stage takes its locks on production (set production.stack to the production stack's name)",
        });
    }
    if (config.copy !== undefined && (config.stage === "production" || config.production === undefined)) {
        problems.push({
            path: ["copy"],
            message: config.stage === "production" ? "is for staging stages (production is the source)" : "needs production.stack (the stack to copy from)",
        });
    }
    if (Object.keys(config.standbys).length > 0 && config.stage !== "production") {
        problems.push({ path: ["standbys"], message: "are for production (staging stages are rebuilt by copies)" });
    }
    if (Object.keys(config.standbys).length > 0 && Object.keys(config.servers).length > 1) {
        problems.push({ path: ["standbys"], message: "need a production stage with one server (the primary)" });
    }
    if (config.primary !== undefined) {
        const hot = Object.keys(config.standbys).filter((n) => config.standbys[n].tier === "hot");
        const candidates = [...Object.keys(config.servers), ...hot];
        const tier = config.standbys[config.primary]?.tier;
        if (config.stage !== "production") {
            problems.push({ path: ["primary"], message: "is for production (the stage with standbys)" });
        } else if (tier !== undefined && tier !== "hot") {
            problems.push({ path: ["primary"], message: `"${config.primary}" is a ${tier} standby (only the server or a hot standby can be the primary: ${candidates.join(", ")})` });
        } else if (!candidates.includes(config.primary)) {
            problems.push({ path: ["primary"], message: `"${config.primary}" is not the server or a hot standby of this stage (use one of: ${candidates.join(", ")})` });
        }
    }
    if (config.shipping !== undefined) {
        if (config.stage !== "production") {
            problems.push({ path: ["shipping"], message: "is for production (the stage whose WAL is shipped)" });
        } else if (Object.keys(config.servers).length > 1) {
            problems.push({ path: ["shipping"], message: "needs a production stage with one server (the primary whose WAL is shipped)" });
        }
        // The schedule must meet the accepted data loss; the message shows the arithmetic.
        const plan = planLogShipping({ rpo: config.rpo, ...config.shipping });
        for (const problem of plan.ok ? [] : plan.problems) {
            const key = (["logBackupInterval", "shipInterval", "applyDelay"] as const).find((k) => problem.startsWith(`${k}: `));
            problems.push({
                path: key ? ["shipping", key] : ["shipping"],
                message: key ? problem.slice(key.length + 2) : problem,
            });
        }
    }
    for (const [name, s] of Object.entries(config.standbys)) {
        if (s.tier === "warm" && config.shipping === undefined) {
            problems.push({
                path: ["standbys", name, "tier"],
                message: '"warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })',
            });
        }
    }
    for (const [name, s] of Object.entries(config.standbys)) {
        const other = "port" in s ? byPort.get(s.port) : undefined; // a cold standby has no server
        if ("port" in s && other !== undefined) {
            problems.push({ path: ["standbys", name, "port"], message: `${s.port} is already the port of servers.${other} (give each server its own port)` });
        }
        if (name in config.servers) {
            problems.push({ path: ["standbys", name], message: "has the name of a server (give the standby its own name)" });
        }
    }
    for (const problem of disasterRecoveryProblems(config)) {
        problems.push(problem);
    }
    const unitNames = Object.keys(config.engine.units);
    const holders = Object.keys(config.servers).filter((s) => databasesOf(config, s).length > 0);
    if (config.backups?.mode === "online" && holders.length > 1) {
        problems.push({
            path: ["backups", "mode"],
            message: `online needs every engine database on one server (one base backup is then one instant for all); they live on ${holders
                .map((s) => `servers.${s} (${databasesOf(config, s).join(", ")})`)
                .join(" and ")} (use offline)`,
        });
    }
    if (config.restore !== undefined && config.backups === undefined) {
        problems.push({ path: ["restore"], message: "needs backups (declare backups to restore from)" });
    }
    if (unitNames.length > 0 && config.engine.primary === undefined) {
        problems.push({ path: ["engine", "primary"], message: `missing (name the unit that acts: one of ${unitNames.join(", ")})` });
    }
    if (config.engine.primary !== undefined && !unitNames.includes(config.engine.primary)) {
        problems.push({
            path: ["engine", "primary"],
            message: unitNames.length === 0 ? `"${config.engine.primary}" names no unit (declare engine.units first)` : `"${config.engine.primary}" is not one of engine.units (${unitNames.join(", ")})`,
        });
    }
    if (config.platform.kind === "docker") {
        // Verified with mocks only (no Docker engine here): what the local platform does beyond servers is refused.
        for (const key of ["standbys", "shipping", "copy", "backups"] as const) {
            const value = (config as Record<string, unknown>)[key];
            if (value !== undefined && !(typeof value === "object" && value !== null && Object.keys(value).length === 0)) {
                problems.push({ path: [key], message: "is not available on the docker platform yet (use platform.kind: local)" });
            }
        }
        if (unitNames.length > 0) {
            problems.push({ path: ["engine", "units"], message: "run as local processes: not available on the docker platform yet (use platform.kind: local)" });
        }
        for (const key of ["superuserPassword", "applicationPassword"] as const) {
            if (config[key] === undefined) {
                problems.push({ path: [key], message: `is needed on the docker platform, which generates no passwords (set it with: pulumi config set --secret ${key} <value>)` });
            }
        }
    }
    if (config.copy !== undefined && Object.keys(config.servers).length > 1) {
        problems.push({ path: ["copy"], message: "needs a stage with one server (it receives all engine databases)" });
    }
    if (config.stage !== "production" && config.promotion !== undefined) {
        problems.push({ path: ["promotion"], message: "is for production (staging stages apply what is declared)" });
    }
    if (config.stage === "production" && config.production !== undefined) {
        problems.push({ path: ["production"], message: "is for staging stages (production binds to no other stage)" });
    }
    // Each engine database lives on exactly one server of the stage.
    const serverNames = Object.keys(config.servers);
    if (serverNames.length > 1) {
        for (const role of DATABASE_ROLES) {
            const holders = serverNames.filter((s) => config.servers[s].databases?.includes(role));
            if (holders.length !== 1) {
                problems.push({
                    path: ["servers"],
                    message:
                        holders.length === 0
                            ? `no server holds the ${role} database (list it in one server's databases)`
                            : `the ${role} database is listed on ${holders.map((h) => `servers.${h}`).join(" and ")} (list it on one server)`,
                });
            }
        }
    }
    return problems;
}
