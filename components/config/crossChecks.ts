// The checks across fields of a stage's configuration: small named rules, each returning its
// problems with their paths. Each rule names the top-level keys it reads (`needs`): problems.ts runs
// every rule whose keys are all valid, so a problem in one field never hides a cross-field problem
// elsewhere. A key given to the wrong shape of stage (schema.ts) is refused by a rule, saying why.
// The order is the order problems are reported in. No Pulumi here.
import type { CrossCheck } from "./checkTypes";
import { membersNameDeclaredHosts, primaryIsNotOnALostHost, remoteMembersAreServersAndHotStandbys, replicationGroupIsOnHostsOrHere } from "./hostRules";
import { coldStandbysNeedShipping, cutoverNamesOnePastInstant, drSiteIsOneServerProduction } from "./drRules";
import { copyLandsOnTheOnlyServer, dockerBuildsServersOnly, eachDatabaseHasItsOwnName, eachDatabaseOnOneServer, eachServerHasItsOwnPort, enginePrimaryNamesAUnit, everyMemberHasItsOwnPortAndName, onlineBackupNeedsOneServer, restoreNeedsBackups, standbysFollowTheOnlyServer, warmStandbysNeedShipping, zeroRpoIsMet } from "./memberRules";
import { copyIsForBoundStaging, declaredPrimaryIsServerOrHot, productionBindsToNoStage, promotionIsProductions, shippingIsProductionsAndMeetsRpo, stagingLocksAreOnProduction, standbysAreForProduction } from "./shapeRules";

export type { CheckContext, CheckedConfig, CrossCheck, CutoverFacts, PathProblem, StandbyFacts } from "./checkTypes";

export const CROSS_CHECKS: readonly CrossCheck[] = [
    eachServerHasItsOwnPort,
    eachDatabaseHasItsOwnName,
    stagingLocksAreOnProduction,
    copyIsForBoundStaging,
    standbysAreForProduction,
    standbysFollowTheOnlyServer,
    declaredPrimaryIsServerOrHot,
    shippingIsProductionsAndMeetsRpo,
    warmStandbysNeedShipping,
    everyMemberHasItsOwnPortAndName,
    coldStandbysNeedShipping,
    drSiteIsOneServerProduction,
    cutoverNamesOnePastInstant,
    onlineBackupNeedsOneServer,
    restoreNeedsBackups,
    enginePrimaryNamesAUnit,
    dockerBuildsServersOnly,
    copyLandsOnTheOnlyServer,
    promotionIsProductions,
    productionBindsToNoStage,
    eachDatabaseOnOneServer,
    zeroRpoIsMet,
    membersNameDeclaredHosts,
    remoteMembersAreServersAndHotStandbys,
    replicationGroupIsOnHostsOrHere,
    primaryIsNotOnALostHost,
];
