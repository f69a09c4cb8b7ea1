// Is the declared primary the one that acts? After a failover or switchover the server may be a
// standby; a stack file reverted to name it again (or that dropped the standby acting as primary)
// would send production's writes to a read-only server and remove the only writable one. Refused
// at preview, naming the acting member and what to declare. File-system facts only, no Pulumi.
import * as path from "path";
import type { Host } from "../../platform/platform";
import { dataDirOf } from "../../postgres/cluster";
import type { StageConfig } from "../../config/config";
import { declaredPrimary, replicationMembers } from "./roles";

/** Where a member's files are looked at: its host. */
export type MemberFiles = Pick<Host, "exists">;

/** A member runs as a standby when its data directory has standby.signal (PostgreSQL's own marker). */
export function isStandbyNow(host: MemberFiles, dataRoot: string, member: string): boolean {
    return host.exists(path.join(dataDirOf({ serverDir: path.join(dataRoot, member) }), "standby.signal"));
}

/** A member can act as the primary when its data directory exists and is not a standby's. */
function canActAsPrimary(host: MemberFiles, dataRoot: string, member: string): boolean {
    return host.exists(path.join(dataDirOf({ serverDir: path.join(dataRoot, member) }), "PG_VERSION")) && !isStandbyNow(host, dataRoot, member);
}

/**
 * The refusal for a production whose declared primary is a standby now while no member it declares
 * can take over (with one that can, `up` is a planned switchover to the declared one: allowed).
 * `acting` is the member that acted as the primary at the last up, as the stack's outputs say.
 */
export function actingPrimaryProblem(config: StageConfig, host: MemberFiles, dataRoot: string, acting: string | undefined): string | undefined {
    const declared = declaredPrimary(config);
    if (!isStandbyNow(host, dataRoot, declared)) {
        return undefined;
    }
    const members = replicationMembers(config).map((m) => m.name);
    if (members.some((m) => m !== declared && canActAsPrimary(host, dataRoot, m))) {
        return undefined;
    }
    const key = config.primary === undefined ? "primary (the server, by default)" : "primary";
    if (acting === undefined || acting === declared) {
        return `${key}: ${declared} is a standby now and no member declared here acts as the primary; declare the member that does (primary: <name>, with its standbys.<name> entry)`;
    }
    const declaredAgain = members.includes(acting);
    return (
        `${key}: ${declared} is a standby now: ${acting} acts as the primary since the last failover or switchover` +
        (declaredAgain ? "" : `, and standbys.${acting} is no longer declared (removing it would remove the only writable server)`) +
        `. Declare standbys.${acting} (tier: hot) with primary: ${acting} to keep it the primary; ` +
        `to make ${declared} the primary again, keep standbys.${acting} declared and set primary: ${declared} (a planned switchover), then remove it`
    );
}
