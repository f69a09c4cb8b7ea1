// The checks across fields, and the free-form values read as an attacker would: every problem at once (a bad field hides no cross-field problem that can
// still be judged), and the rules added for hostile input, each with its exact message.
import { parseStageConfig } from "../../../components/config/config";
import { CROSS_CHECKS } from "../../../components/config/crossChecks";

const j = JSON.stringify;
const production = { "stagewise:stage": "production", "stagewise:servers": j({ "prod-db": { port: 55432 } }) };
const drStack = { stack: { organization: "organization", project: "stagewise", stack: "dr" }, now: new Date("2026-12-01T00:00:00Z") };
const problemsOf = (raw: Record<string, string>, secrets: string[] = [], context = {}) => {
    const result = parseStageConfig(raw, new Set(secrets), context);
    return result.ok ? [] : result.problems;
};

test("one field problem and three cross-field problems are reported together, the field's first", () => {
    expect(
        problemsOf({
            ...production,
            "stagewise:rpo": "90x",
            "stagewise:standbys": j({ h1: { tier: "hot", port: 55433 }, h2: { tier: "hot", port: 55433 }, "prod-db": { tier: "warm", port: 55434 } }),
            "stagewise:copy": j({ trigger: "1" }),
        }),
    ).toEqual([
        'rpo: "90x" is not a duration (use e.g. "15m", "4h", "1h30m")',
        "copy: is for staging stages (production is the source)",
        'standbys.prod-db.tier: "warm" standbys apply shipped WAL and need shipping (set shipping, e.g. { logBackupInterval: "1h", shipInterval: "1h" })',
        "standbys.h2.port: 55433 is already the port of standbys.h1 (give each server its own port)",
        "standbys.prod-db: has the name of a server (give the standby its own name)",
    ]);
});

test("a rule that reads an invalid field stays silent rather than guess", () => {
    // servers is invalid: the port and placement rules cannot be judged, the copy rule still can.
    expect(problemsOf({ "stagewise:stage": "production", "stagewise:servers": j({ a: { port: 1 } }), "stagewise:copy": j({ trigger: "1" }) })).toEqual([
        "servers.a.port: 1 is not a port (use a whole number from 1024 to 65535)",
        "copy: is for staging stages (production is the source)",
    ]);
});

test.each<[string, Record<string, string>, string[], object, string[]]>([
    ["two standbys on one port", { ...production, "stagewise:standbys": j({ a: { tier: "hot", port: 55433 }, b: { tier: "hot", port: 55433 } }) }, [], {}, [
        "standbys.b.port: 55433 is already the port of standbys.a (give each server its own port)",
    ]],
    ["a standby on the server's port", { ...production, "stagewise:standbys": j({ a: { tier: "hot", port: 55432 } }) }, [], {}, [
        "standbys.a.port: 55432 is already the port of servers.prod-db (give each server its own port)",
    ]],
    ["breakHeldBy that is not <project>/<stack>", {
        "stagewise:stage": "test", "stagewise:servers": j({ t: { port: 55442 } }), "stagewise:production": j({ stack: "organization/stagewise/prod" }),
        "stagewise:locks": j({ copy: { reason: "copy", breakHeldBy: "; DROP TABLE locks" } }),
    }, [], {}, [
        'locks.copy.breakHeldBy: "; DROP TABLE locks" is not a stack (use "<project>/<stack>", e.g. "stagewise/test": the holder a lock names)',
    ]],
    ["an rpo of zero with nothing synchronous", { ...production, "stagewise:rpo": "0s", "stagewise:standbys": j({ h: { tier: "hot", port: 55433 } }) }, [], {}, [
        'rpo: "0s" cannot be met by this stage: only a synchronous standby loses no committed transaction ' +
            "(add a hot standby with synchronous: true, or accept some data loss and ship WAL often enough: shipping's logBackupInterval + shipInterval <= rpo)",
    ]],
    ["a DR site standing by for itself", {
        ...production, "stagewise:licenseKey": "k", "stagewise:disasterRecovery": j({ of: "organization/stagewise/dr", tier: "warm" }),
    }, ["stagewise:licenseKey"], drStack, [
        'disasterRecovery.of: "organization/stagewise/dr" is this stack itself (name the production stack this site stands by for, e.g. "organization/stagewise/prod")',
    ]],
    ["a DR site naming itself by its short name", {
        ...production, "stagewise:licenseKey": "k", "stagewise:disasterRecovery": j({ of: "dr", tier: "cold" }),
    }, ["stagewise:licenseKey"], drStack, [
        'disasterRecovery.of: "dr" is this stack itself (name the production stack this site stands by for, e.g. "organization/stagewise/prod")',
    ]],
    ["a cutover to a future instant, checked before any stack is read", {
        ...production, "stagewise:licenseKey": "k", "stagewise:disasterRecovery": j({ of: "organization/stagewise/prod", tier: "warm" }),
        "stagewise:cutover": j({ targetTime: "2099-01-01T00:00:00Z" }),
    }, ["stagewise:licenseKey"], drStack, [
        'cutover.targetTime: "2099-01-01T00:00:00Z" is in the future (now is 2026-12-01T00:00:00.000Z): a cutover recovers to an instant that has passed (use an earlier time, or latest: true)',
    ]],
    ["a disaster in the future", {
        ...production, "stagewise:licenseKey": "k", "stagewise:disasterRecovery": j({ of: "organization/stagewise/prod", tier: "warm" }),
        "stagewise:cutover": j({ disasterTime: "2026-12-01T02:00:00Z", margin: "4h" }),
    }, ["stagewise:licenseKey"], drStack, [
        'cutover.disasterTime: "2026-12-01T02:00:00Z" is in the future (now is 2026-12-01T00:00:00.000Z): a cutover recovers to an instant that has passed (use an earlier time, or latest: true)',
    ]],
])("%s", (_name, raw, secrets, context, expected) => {
    expect(problemsOf(raw, secrets, context)).toEqual(expected);
});

test("accepted as before: an rpo of zero with a synchronous standby, a past cutover, another stack's DR site", () => {
    expect(problemsOf({ ...production, "stagewise:rpo": "0s", "stagewise:standbys": j({ h: { tier: "hot", port: 55433, synchronous: true } }) })).toEqual([]);
    expect(
        problemsOf(
            { ...production, "stagewise:licenseKey": "k", "stagewise:disasterRecovery": j({ of: "organization/stagewise/prod", tier: "warm" }), "stagewise:cutover": j({ targetTime: "2026-11-30T00:00:00Z" }) },
            ["stagewise:licenseKey"],
            drStack,
        ),
    ).toEqual([]);
});

test("every rule has a name and reads only top-level keys of the configuration", () => {
    const keys = new Set(["stage", "platform", "hosts", "servers", "engine", "rpo", "shipping", "production", "identity", "standbys", "primary", "copy", "promotion", "backups", "restore", "adminObjects", "locks", "superuserPassword", "applicationPassword", "licenseKey", "disasterRecovery", "cutover"]);
    expect(new Set(CROSS_CHECKS.map((r) => r.name)).size).toBe(CROSS_CHECKS.length);
    for (const rule of CROSS_CHECKS) {
        expect(rule.needs.filter((k) => !keys.has(k))).toEqual([]);
    }
});

const staging = { "stagewise:stage": "test", "stagewise:servers": j({ t: { port: 55442 } }), "stagewise:production": j({ stack: "organization/stagewise/prod" }) };

test.each<[string, Record<string, string>, string[], string[]]>([
    ["a lock reason with a line of its own", { ...staging, "stagewise:locks": j({ copy: { reason: "copy\n  - servers: all good" } }) }, [], [
        'locks.copy.reason: "copy\\n  - servers: all good" holds a line break or control character (use one line of plain text)',
    ]],
    ["a copy trigger longer than a line", { ...staging, "stagewise:copy": j({ trigger: "x".repeat(201) }) }, [], [
        "copy.trigger: is 201 characters long (use at most 200)",
    ]],
    ["a production stack name with a path in it", { ...staging, "stagewise:production": j({ stack: "../../other/prod" }) }, [], [
        'production.stack: "../../other/prod" is not a stack name (use e.g. "organization/stagewise/prod")',
    ]],
    ["a promotion source with spaces", { ...production, "stagewise:promotion": j({ from: "test; rm -rf /" }) }, [], [
        'promotion.from: "test; rm -rf /" is not a stack name (use e.g. "organization/stagewise/test")',
    ]],
    ["a backup id that climbs out of the backups folder", { ...production, "stagewise:backups": j({}), "stagewise:restore": j({ backup: "../../etc" }) }, [], [
        'restore.backup: "../../etc" is not a backup id (use an id listed in the backups output, e.g. "20261122T101500123Z")',
    ]],
    ["an OS user that is an option", { ...production, "stagewise:platform": j({ kind: "local", osUser: "--help" }) }, [], [
        'platform.osUser: "--help" is not an OS user name (use lower-case letters, digits, _ and -, e.g. "postgres")',
    ]],
    ["root as the servers' OS user", { ...production, "stagewise:platform": j({ kind: "local", osUser: "root" }) }, [], [
        'platform.osUser: "root" cannot run the servers (PostgreSQL refuses to run as root; use an unprivileged user such as "postgres")',
    ]],
    ["a password on two lines, never echoed", { ...production, "stagewise:superuserPassword": "first\nsecond" }, ["stagewise:superuserPassword"], [
        "superuserPassword: holds a line break or control character (a password is one line; set it again with: pulumi config set --secret <key> <value>)",
    ]],
    ["a restore point name PostgreSQL would cut", {
        ...production, "stagewise:licenseKey": "k", "stagewise:disasterRecovery": j({ of: "organization/stagewise/prod", tier: "warm" }),
        "stagewise:cutover": j({ targetName: "r".repeat(64) }),
    }, ["stagewise:licenseKey"], ["cutover.targetName: is 64 characters long (use at most 63)"]],
    ["a data root pg_ctl's shell would expand", { ...production, "stagewise:platform": j({ kind: "local", dataRoot: "/srv/$(touch pwned)" }) }, [], [
        'platform.dataRoot: "/srv/$(touch pwned)" contains " $ ` or \\, which pg_ctl\'s shell would read (use a folder of its own, e.g. "/srv/stagewise/prod" or ".stagewise/prod")',
    ]],
    ["a program folder with a backtick", { ...production, "stagewise:platform": j({ kind: "local", binDir: "/opt/`id`/bin" }) }, [], [
        'platform.binDir: "/opt/`id`/bin" contains a control character, " $ ` or \\, which pg_ctl\'s shell would read (use the folder holding initdb and pg_ctl, e.g. /usr/lib/postgresql/15/bin)',
    ]],
])("%s", (_name, raw, secrets, expected) => {
    expect(problemsOf(raw, secrets, drStack)).toEqual(expected);
});
