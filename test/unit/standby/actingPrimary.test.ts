import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStageConfig, StageConfig } from "../../../components/config/config";
import { actingPrimaryProblem } from "../../../components/standby/hot/actingPrimary";

/** The files of this machine, as a host shows them. */
const LOCAL_FILES = { exists: (target: string) => fs.existsSync(target) };

let root: string;
beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-acting-"));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

/** A member's data directory, as a primary or (with standby.signal) as a standby. */
function member(name: string, role: "primary" | "standby"): void {
    fs.mkdirSync(path.join(root, name, "pgdata"), { recursive: true });
    fs.writeFileSync(path.join(root, name, "pgdata", "PG_VERSION"), "15\n");
    if (role === "standby") fs.writeFileSync(path.join(root, name, "pgdata", "standby.signal"), "");
}

function production(extra: Record<string, unknown> = {}): StageConfig {
    const raw: Record<string, string> = { "stagewise:stage": "production", "stagewise:servers": JSON.stringify({ "prod-db": { port: 15432 } }) };
    for (const [k, v] of Object.entries(extra)) raw[`stagewise:${k}`] = JSON.stringify(v);
    const parsed = parseStageConfig(raw, new Set());
    if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
    return parsed.config;
}

const hot = { "prod-hot": { tier: "hot", port: 15433 } };

test("nothing to say while the declared primary is not a standby", () => {
    member("prod-db", "primary");
    member("prod-hot", "standby");
    expect(actingPrimaryProblem(production({ standbys: hot }), LOCAL_FILES, root, "prod-db")).toBeUndefined();
});

test("declaring the server again while the standby acts and is still declared is a planned switchover back: allowed", () => {
    member("prod-db", "standby");
    member("prod-hot", "primary");
    expect(actingPrimaryProblem(production({ standbys: hot }), LOCAL_FILES, root, "prod-hot")).toBeUndefined();
});

test("the acting standby no longer declared: refused, naming it and both ways out", () => {
    member("prod-db", "standby");
    member("prod-hot", "primary");
    expect(actingPrimaryProblem(production(), LOCAL_FILES, root, "prod-hot")).toBe(
        "primary (the server, by default): prod-db is a standby now: prod-hot acts as the primary since the last failover or switchover, " +
            "and standbys.prod-hot is no longer declared (removing it would remove the only writable server). " +
            "Declare standbys.prod-hot (tier: hot) with primary: prod-hot to keep it the primary; " +
            "to make prod-db the primary again, keep standbys.prod-hot declared and set primary: prod-db (a planned switchover), then remove it",
    );
});

test("no outputs to say who acts: still refused, asking for the member that does", () => {
    member("prod-db", "standby");
    expect(actingPrimaryProblem(production(), LOCAL_FILES, root, undefined)).toBe(
        "primary (the server, by default): prod-db is a standby now and no member declared here acts as the primary; declare the member that does (primary: <name>, with its standbys.<name> entry)",
    );
});
