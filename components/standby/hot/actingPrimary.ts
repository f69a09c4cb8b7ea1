// Is the declared primary the one that acts? After a failover or switchover the server may be a
// standby; a stack file reverted to name it again (or that dropped the standby acting as primary)
// would send production's writes to a read-only server and remove the only writable one. Refused
// at preview, naming the acting member and what to declare. File-system facts only, no Pulumi.
import * as fs from "fs";
import * as path from "path";
import type { StageConfig } from "../../config/config";
import { declaredPrimary, replicationMembers } from "./roles";

/** A member runs as a standby when its data directory has standby.signal (PostgreSQL's own marker). */
export function isStandbyNow(dataRoot: string, member: string): boolean {
    return fs.existsSync(path.join(dataRoot, member, "pgdata", "standby.signal"));
}

/** A member can act as the primary when its data directory exists and is not a standby's. */
function canActAsPrimary(dataRoot: string, member: string): boolean {
    return fs.existsSync(path.join(dataRoot, member, "pgdata", "PG_VERSION")) && !isStandbyNow(dataRoot, member);
}

/**
 * The refusal for a production whose declared primary is a standby now while no member it declares
 * can take over (with one that can, `up` is a planned switchover to the declared one: allowed).
 * `acting` is the member that acted as the primary at the last up, as the stack's outputs say.
 */
export function actingPrimaryProblem(config: StageConfig, dataRoot: string, acting: string | undefined): string | undefined {
    const declared = declaredPrimary(config);
    if (!isStandbyNow(dataRoot, declared)) {
        return undefined;
    }
    const members = replicationMembers(config).map((m) => m.name);
    if (members.some((m) => m !== declared && canActAsPrimary(dataRoot, m))) {
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
