// The guardrails of the policy pack (policy/), as plain functions of a stack's configuration and resources.
import { productionHasStandby, productionServersProtected, rpoWithinMaximum, stageFacts, StageFacts } from "../../policy/guardrails";

const production = (extra: Record<string, string> = {}) =>
    stageFacts({ "stagewise:stage": "production", "stagewise:servers": JSON.stringify({ "prod-db": { port: 55432 } }), ...extra }) as StageFacts;

test("the facts come from the stack's configuration as the engine shows it, secrets left unread", () => {
    expect(production({ "stagewise:rpo": "2h", "stagewise:superuserPassword": "v1:ciphertext", "other:key": "x" })).toEqual({
        stage: "production",
        rpo: "2h",
        standbys: [],
        disasterRecoverySite: false,
    });
    // A DR site's own licence key is a secret: present, but never read.
    expect(stageFacts({
        "stagewise:stage": "production",
        "stagewise:servers": JSON.stringify({ "prod-db": { port: 55462 } }),
        "stagewise:disasterRecovery": JSON.stringify({ of: "organization/stagewise/prod", tier: "warm" }),
        "stagewise:licenseKey": "v1:ciphertext",
    })).toMatchObject({ stage: "production", disasterRecoverySite: true });
    expect(stageFacts({ "stagewise:stage": "staging" })).toBe(
        "the stack's configuration does not validate: stage: \"staging\" is not a stage kind (use one of: production, development, test); servers: missing (use a map from server name to { port, settings })",
    );
});

test("production without a standby is refused; with one, or as a staging stage, it passes", () => {
    expect(productionHasStandby(production())).toBe(
        "production has no standby: declare at least one under standbys (tier hot, warm or cold), or a disaster-recovery site's stack",
    );
    expect(productionHasStandby(production({ "stagewise:standbys": JSON.stringify({ "prod-hot": { tier: "hot", port: 55433 } }) }))).toBeUndefined();
    expect(productionHasStandby({ ...production(), stage: "test" })).toBeUndefined();
});

test("an rpo above the declared maximum is refused, naming both", () => {
    expect(rpoWithinMaximum(production({ "stagewise:rpo": "6h" }), "4h")).toBe(
        "rpo 6h accepts more data loss than the declared maximum 4h (lower rpo, or raise maxRpo in the policy configuration)",
    );
    expect(rpoWithinMaximum(production({ "stagewise:rpo": "4h" }), "4h")).toBeUndefined();
    expect(rpoWithinMaximum(production(), "4 hours")).toBe('the policy\'s maxRpo "4 hours" is not a duration (use e.g. "4h")');
});

test("an unprotected production server is named; staging servers need no protection", () => {
    const resources = [
        { type: "pulumi-nodejs:dynamic/stagewise:PostgresServer", name: "prod-prod-db", protect: false },
        { type: "pulumi-nodejs:dynamic/stagewise:PostgresServer", name: "prod-prod-other", protect: true },
        { type: "pulumi-nodejs:dynamic/stagewise:DataRoot", name: "prod-data", protect: false },
    ];
    expect(productionServersProtected(production(), resources)).toEqual([
        "production server prod-prod-db (pulumi-nodejs:dynamic/stagewise:PostgresServer) is not protected: a replacement or destroy would delete its data",
    ]);
    expect(productionServersProtected({ ...production(), stage: "development" }, resources)).toEqual([]);
});
