// BackupPlan: consistent backups of the stage's engine databases (and configuration files) on a
// schedule, listed with their verification; and restore as code (`restore: { backup }`). The fourth
// source runbook: offline backups stop the engine, online ones need every database on one server.
import * as pulumi from "@pulumi/pulumi";
import type { DatabaseRole } from "../engine/referenceSchema";
import * as path from "path";
import { parseDuration, StageConfig } from "../config/config";
import { membersOf, StageTopology } from "../topology/topology";
import { projectFile } from "../config/paths";
import { engineUnitSpecs } from "../engine/engineCluster";
import { listBackupSets } from "./backupSets";
import { BackupListing, BackupPlanResource, BackupServer, Restore } from "./backupPlan";
import { Stage } from "../server/stage";

export interface BackupPlanArgs {
    /** The schedule: interval, keep, mode, configuration files. */
    readonly backups: NonNullable<StageConfig["backups"]>;
    /** A backup set to put back. @default none */
    readonly restore?: StageConfig["restore"];
    /** The engine whose units an offline backup stops. */
    readonly engine: StageConfig["engine"];
    readonly stage: Stage;
    /** The stage's connection strings for writers (secret): they wait for production's role change (server/stage.ts writesAfter). */
    readonly connectionStrings: pulumi.Output<Record<DatabaseRole, string>>;
    /** Folder that relative configuration-file paths are resolved against. @default process.cwd() */
    readonly projectDir?: string;
}

export interface BackupPlanState {
    mode: "offline" | "online";
    interval: string;
    backups: BackupListing[];
    /** Age of the newest verified scheduled backup when the program ran, in seconds (null: none yet). */
    newestVerifiedAgeSeconds: number | null;
    /** The newest verified backup is older than the interval allows. */
    stale: boolean;
    lastRestore: { backup: string; safetyBackup: string; restoredAt: string; cleanup: { terminated: number; restarted: number } | null } | null;
}

/** online when one server holds every engine database (one base backup is one instant), else offline. */
export function defaultBackupMode(topology: StageTopology): "offline" | "online" {
    return membersOf(topology, "server").filter((m) => m.databases.length > 0).length === 1 ? "online" : "offline";
}

export class BackupPlan extends pulumi.ComponentResource {
    public readonly state: pulumi.Output<BackupPlanState>;

    constructor(name: string, args: BackupPlanArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:backup:BackupPlan", name, {}, opts);
        const { backups, stage } = args;
        const { topology } = stage;
        // The sets live where the servers do (the configuration keeps a stage's servers on one host when it has backups).
        const onHost = Object.values(topology.members).find((m) => m.tier === "server" && m.machine !== undefined);
        const setsMachine = onHost?.machine;
        const setsDir = onHost ? path.posix.join(path.posix.dirname(onHost.serverDir!), "backups") : path.join(stage.dataRootPath, "backups");
        const mode = backups.mode ?? defaultBackupMode(topology);
        const intervalMs = parseDuration(backups.interval)!;
        const servers: pulumi.Output<BackupServer[]> = pulumi.all(
            Object.entries(stage.servers).map(([serverName, s]) =>
                s.superuserPassword.apply((superuserPassword) => ({
                    name: serverName,
                    binDir: topology.members[serverName].binDir,
                    serverDir: topology.members[serverName].serverDir!,
                    host: topology.members[serverName].host,
                    port: topology.members[serverName].port!,
                    osUser: topology.members[serverName].osUser,
                    ...(topology.members[serverName].machine ? { machine: topology.members[serverName].machine } : {}),
                    superuserPassword,
                    databases: topology.members[serverName].databases.map((role) => topology.engine.databases[role]),
                })),
            ),
        );
        // Each resolved through any symbolic link and checked again here, at preview too: inside the project.
        const configFiles = (backups.configFiles ?? []).map((f, i) => {
            const found = projectFile(args.projectDir ?? process.cwd(), f, "");
            if ("problem" in found) {
                throw new pulumi.ResourceError(`backups.configFiles[${i}]: ${found.problem}`, this);
            }
            return found.file;
        });
        const units = engineUnitSpecs(args.engine, stage, args.connectionStrings);
        const common = { setsDir, ...(setsMachine ? { setsMachine: pulumi.secret(setsMachine) } : {}), servers, configFiles, units, ownerRole: topology.engine.owner };

        // An unknown backup is refused in the user's key before anything is declared (the provider checks again).
        const known = listBackupSets(setsDir, setsMachine).map((s) => s.id);
        if (args.restore !== undefined && !known.includes(args.restore.backup)) {
            throw new pulumi.ResourceError(`restore.backup: backup ${args.restore.backup} does not exist (backups: ${known.join(", ") || "none yet"})`, this);
        }
        const restore = args.restore
            ? new Restore(`${name}-restore`, { ...common, backup: args.restore.backup, workUrl: args.connectionStrings.apply((cs) => cs.work) }, { parent: this })
            : undefined;
        // A restore comes first: a backup due in the same `up` then records the restored state.
        const plan = new BackupPlanResource(
            `${name}-plan`,
            { ...common, mode, intervalMs, keep: backups.keep, afterRestore: restore?.report.apply((r) => r.safetyBackup) },
            { parent: this, dependsOn: restore ? [restore] : [] },
        );

        // Warned on preview and up alike: the program sees the backups folder before anything runs.
        const newest = listBackupSets(setsDir, setsMachine).filter((s) => !s.safety && s.verified).at(-1);
        const ageSeconds = newest ? Math.round((Date.now() - Date.parse(newest.finishedAt)) / 1000) : null;
        const stale = ageSeconds !== null && ageSeconds * 1000 > intervalMs;
        if (stale) {
            pulumi.log.warn(`the newest verified backup (${newest!.id}) is ${ageSeconds} s old, more than the schedule's ${backups.interval}: \`pulumi up\` takes a new one`, this);
        }
        this.state = pulumi.all([plan.backups, restore ? restore.report : pulumi.output(null)]).apply(([list, report]) => ({
            mode,
            interval: backups.interval,
            backups: list,
            newestVerifiedAgeSeconds: ageSeconds,
            stale,
            lastRestore: report,
        }));
        this.registerOutputs({ state: this.state });
    }
}
