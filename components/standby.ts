// Standbys: the standbys of a production server (hot only, so far) and the connection string that
// follows the primary — the modern form of the runbook's IP alias (libpq tries each host and keeps
// the one that accepts writes).
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { settingsText, StageConfig, StandbyConfig } from "./config";
import { DATABASE_ROLES, DatabaseRole } from "./engine/referenceSchema";
import { HotStandby } from "./providers/hotStandby";
import { Stage } from "./stage";

export interface StandbysArgs {
    readonly config: StageConfig;
    readonly stage: Stage;
    /** Folder of the stage's data. */
    readonly dataRoot: string;
}

export interface StandbyState {
    tier: "hot";
    endpoint: string;
    slot: string;
    running: boolean;
    streaming: boolean;
    lagBytes: number | null;
}

export class Standbys extends pulumi.ComponentResource {
    public readonly standbys: pulumi.Output<Record<string, StandbyState>>;
    /** libpq URLs listing the primary and every standby, with target_session_attrs=read-write (secret). */
    public readonly failoverConnectionStrings: pulumi.Output<Record<DatabaseRole, string>> | undefined;

    constructor(name: string, args: StandbysArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:standby:Standbys", name, {}, opts);
        const { config, stage } = args;
        // Warm standbys are built by WarmStandbys (components/warmStandby.ts); they take no part in failover strings.
        const entries = Object.entries(config.standbys).filter((entry): entry is [string, Extract<StandbyConfig, { tier: "hot" }>] => entry[1].tier === "hot");
        const [primaryName, primary] = Object.entries(stage.servers)[0];

        const resources = entries.map(([standbyName, spec]) => {
            const resource = new HotStandby(
                `${name}-${standbyName}`,
                {
                    standbyName,
                    primary: pulumi.all([primary.host, primary.port, primary.superuserPassword]).apply(([host, port, superuserPassword]) => ({
                        host,
                        port,
                        superuserPassword,
                    })),
                    binDir: stage.postgresBinDir,
                    serverDir: path.join(args.dataRoot, standbyName),
                    host: spec.host,
                    port: spec.port,
                    osUser: stage.osUser,
                    settings: settingsText(spec.settings),
                },
                // Rebuilt from the primary at any time, so not protected; it follows its primary.
                { parent: this, dependsOn: [primary] },
            );
            return [standbyName, resource] as const;
        });

        this.standbys = pulumi.all(
            Object.fromEntries(
                resources.map(([standbyName, r]) => [
                    standbyName,
                    pulumi.all([r.host, r.port, r.slot, r.running, r.streaming, r.lagBytes]).apply(([host, port, slot, running, streaming, lagBytes]) => ({
                        tier: "hot" as const,
                        endpoint: `${host}:${port}`,
                        slot,
                        running,
                        streaming,
                        lagBytes,
                    })),
                ]),
            ),
        );

        if (resources.length > 0) {
            const hosts = [`${config.servers[primaryName].host}:${config.servers[primaryName].port}`, ...entries.map(([, s]) => `${s.host}:${s.port}`)];
            this.failoverConnectionStrings = pulumi.secret(
                primary.applicationPassword.apply(
                    (password) =>
                        Object.fromEntries(
                            DATABASE_ROLES.map((role) => [
                                role,
                                `postgresql://${config.engine.owner}:${encodeURIComponent(password)}@${hosts.join(",")}/${config.engine.databases[role]}?target_session_attrs=read-write`,
                            ]),
                        ) as Record<DatabaseRole, string>,
                ),
            );
        }
        this.registerOutputs({ standbys: this.standbys, failoverConnectionStrings: this.failoverConnectionStrings });
    }
}
