// Cold standbys of production (the runbook's cold standby): scheduled, verified base backups of the
// primary plus its archived WAL (production's `shipping`), and no server until a cutover restores one
// with the production server's name (a DR stack with tier: cold does that, see dr/disasterRecovery.ts).
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { parseDuration } from "../../config/config";
import { membersOf } from "../../topology/topology";
import { BaseBackups, BaseBackupSummary } from "../../backup/baseBackups";
import { Stage } from "../../server/stage";
import { machineInput } from "../../server/location";

export interface ColdStandbysArgs {
    /** Production's stage: its one server is backed up, its WAL archive is the standby's log. */
    readonly stage: Stage;
}

export interface ColdStandbyState {
    tier: "cold";
    /** Folder of the archived WAL a restore replays. */
    archive: string;
    baseBackups: BaseBackupSummary[];
}

export class ColdStandbys extends pulumi.ComponentResource {
    public readonly standbys: pulumi.Output<Record<string, ColdStandbyState>>;

    constructor(name: string, args: ColdStandbysArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:standby:ColdStandbys", name, {}, opts);
        const { stage } = args;
        const [, primary] = Object.entries(stage.servers)[0];
        const archive = stage.walArchive;
        if (archive === undefined) {
            throw new pulumi.ResourceError("cold standbys need production's WAL archive (set shipping)", this); // the schema says so first
        }
        const resources = membersOf(stage.topology, "cold").map((member) => {
            const standbyName = member.name;
            const backups = new BaseBackups(
                `${name}-${standbyName}`,
                {
                    source: pulumi.all([primary.host, primary.port, primary.superuserPassword]).apply(([host, port, superuserPassword]) => ({ host, port, superuserPassword })),
                    folder: path.join(member.serverDir!, "base-backups"),
                    binDir: member.binDir,
                    osUser: member.osUser,
                    ...machineInput(member), // on its host, pg_basebackup runs there
                    intervalSeconds: Math.round(parseDuration(member.baseBackups!.interval)! / 1000),
                    keep: member.baseBackups!.keep,
                },
                // Backups of production are production's data too.
                { parent: this, dependsOn: [primary, archive.resource], protect: true },
            );
            return [standbyName, backups] as const;
        });
        this.standbys = pulumi.all(
            Object.fromEntries(resources.map(([standbyName, r]) => [standbyName, r.backups.apply((baseBackups) => ({ tier: "cold" as const, archive: archive.path, baseBackups }))])),
        );
        this.registerOutputs({ standbys: this.standbys });
    }
}
