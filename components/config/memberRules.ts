// The checks across a stage's members and the keys that depend on them: ports, names, where the
// engine's databases live, what standbys, backups, engine units and the platform need. No Pulumi here.
import { DATABASE_ROLES } from "../engine/referenceSchema";
import type { CrossCheck, PathProblem } from "./checkTypes";
import { parseDuration } from "./duration";
import { databasesOf, declared, machineOf, portedMembers } from "./helpers";
import { Feature, PlatformKind, refusals } from "../platform/platform";

type Hosts = object | undefined;
const portOnMachine = (hosts: Hosts, port: number, member: { host?: string }) => `${machineOf(hosts, member)}:${port}`;
const onHost = (hosts: Hosts, member: { host?: string }) => (machineOf(hosts, member) === "" ? "" : ` on host ${member.host}`);

export const eachServerHasItsOwnPort: CrossCheck = {
    name: "each server has its own port",
    needs: ["servers"],
    check(config) {
        // Two servers of one stage on one port of one machine cannot both start; on two machines they can.
        const byPort = new Map<string, string>();
        const problems: PathProblem[] = [];
        for (const [name, server] of Object.entries(config.servers)) {
            const key = portOnMachine(config.hosts, server.port, server);
            const other = byPort.get(key);
            if (other !== undefined) {
                problems.push({ path: ["servers", name, "port"], message: `${server.port} is already the port of servers.${other}${onHost(config.hosts, server)} (give each server its own port)` });
            }
            byPort.set(key, name);
        }
        return problems;
    },
};

export const eachDatabaseHasItsOwnName: CrossCheck = {
    name: "each engine database has its own name",
    needs: ["engine"],
    check(config) {
        const names = Object.values(config.engine.databases);
        return Object.entries(config.engine.databases).flatMap(([role, name], i) =>
            names.indexOf(name) !== i ? [{ path: ["engine", "databases", role], message: `"${name}" is already the name of another engine database (give each its own name)` }] : [],
        );
    },
};

export const standbysFollowTheOnlyServer: CrossCheck = {
    name: "standbys follow a stage's only server",
    needs: ["standbys", "servers"],
    check: (config) =>
        Object.keys(config.standbys).length > 0 && Object.keys(config.servers).length > 1
            ? [{ path: ["standbys"], message: "need a production stage with one server (the primary)" }]
            : [],
};

export const warmStandbysNeedShipping: CrossCheck = {
    name: "warm standbys need shipping",
    needs: ["standbys", "shipping"],
    check: (config) =>
        Object.entries(config.standbys).flatMap(([name, s]) =>
            s.tier === "warm" && config.shipping === undefined
                ? [{ path: ["standbys", name, "tier"], message: '"warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })' }]
                : [],
        ),
};

export const everyMemberHasItsOwnPortAndName: CrossCheck = {
    name: "every server and standby has its own port and name",
    needs: ["standbys", "servers"],
    check(config) {
        const problems: PathProblem[] = [];
        const byPort = new Map<string, string>();
        for (const member of portedMembers(config)) {
            const key = portOnMachine(config.hosts, member.port, member);
            const other = byPort.get(key);
            // Two servers on one port are reported by the servers' own rule.
            if (other !== undefined && member.key === "standbys") {
                problems.push({ path: [member.key, member.name, "port"], message: `${member.port} is already the port of ${other}${onHost(config.hosts, member)} (give each server its own port)` });
            }
            if (other === undefined) {
                byPort.set(key, `${member.key}.${member.name}`);
            }
        }
        for (const name of Object.keys(config.standbys)) {
            if (name in config.servers) {
                problems.push({ path: ["standbys", name], message: "has the name of a server (give the standby its own name)" });
            }
        }
        return problems;
    },
};

export const onlineBackupNeedsOneServer: CrossCheck = {
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
};

export const restoreNeedsBackups: CrossCheck = {
    name: "a restore needs backups",
    needs: ["restore", "backups"],
    check: (config) => (config.restore !== undefined && config.backups === undefined ? [{ path: ["restore"], message: "needs backups (declare backups to restore from)" }] : []),
};

export const enginePrimaryNamesAUnit: CrossCheck = {
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
};

export const dockerBuildsServersOnly: CrossCheck = {
    name: "the docker platform builds servers only, with given passwords",
    needs: ["platform", "standbys", "shipping", "copy", "backups", "engine", "superuserPassword", "applicationPassword"],
    check(config) {
        // What the stage asks of its platform beyond servers, in the order problems are reported; the platform answers (platform/platform.ts).
        const wanted: Feature[] = [
            ...(["standbys", "shipping", "copy", "backups"] as const).filter((key) => declared(config[key])),
            ...(Object.keys(config.engine.units).length > 0 ? (["engineUnits"] as const) : []),
            ...(config.superuserPassword === undefined ? (["generatedSuperuserPassword"] as const) : []),
            ...(config.applicationPassword === undefined ? (["generatedApplicationPassword"] as const) : []),
        ];
        return refusals(config.platform.kind as PlatformKind, wanted);
    },
};

export const copyLandsOnTheOnlyServer: CrossCheck = {
    name: "a copy lands on a stage's only server",
    needs: ["copy", "servers"],
    check: (config) =>
        config.copy !== undefined && Object.keys(config.servers).length > 1 ? [{ path: ["copy"], message: "needs a stage with one server (it receives all engine databases)" }] : [],
};

export const eachDatabaseOnOneServer: CrossCheck = {
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
};

export const zeroRpoIsMet: CrossCheck = {
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
};
