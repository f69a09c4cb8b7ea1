import { parseStageConfig, StageConfig } from "../../../components/config/config";
import { synchronousStandbyNames } from "../../../components/standby/hot/switchover";
import { declaredPrimary, failoverOrder, replicationMembers, serverRole, synchronousMembers } from "../../../components/standby/hot/roles";

function production(extra: Record<string, unknown>): StageConfig {
    const raw: Record<string, string> = {
        "stagewise:stage": "production",
        "stagewise:servers": JSON.stringify({ "prod-db": { port: 55432 } }),
        "stagewise:standbys": JSON.stringify({
            "prod-hot": { tier: "hot", port: 55433, synchronous: true },
            "prod-hot2": { tier: "hot", port: 55434 },
        }),
    };
    for (const [k, v] of Object.entries(extra)) {
        raw[`stagewise:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
    }
    const result = parseStageConfig(raw, new Set());
    if (!result.ok) {
        throw new Error(result.problems.join("\n"));
    }
    return result.config;
}

describe("replication roles", () => {
    test("without `primary` the server is the primary and the synchronous standbys are listed", () => {
        const config = production({});
        expect(declaredPrimary(config)).toBe("prod-db");
        expect(replicationMembers(config)).toEqual([
            { name: "prod-db", kind: "server", host: "127.0.0.1", port: 55432, synchronous: false },
            { name: "prod-hot", kind: "standby", host: "127.0.0.1", port: 55433, synchronous: true },
            { name: "prod-hot2", kind: "standby", host: "127.0.0.1", port: 55434, synchronous: false },
        ]);
        expect(synchronousMembers(config)).toEqual(["prod-hot"]);
        expect(serverRole(config, "prod-db")).toEqual({ role: "primary" });
        expect(failoverOrder(config).map((m) => m.name)).toEqual(["prod-db", "prod-hot", "prod-hot2"]);
    });

    test("a synchronous standby declared primary: the server is a standby of it, nobody else is synchronous", () => {
        const config = production({ primary: "prod-hot" });
        expect(declaredPrimary(config)).toBe("prod-hot");
        expect(synchronousMembers(config)).toEqual([]);
        expect(serverRole(config, "prod-db")).toEqual({ role: "standby", upstream: { host: "127.0.0.1", port: 55433 } });
        expect(failoverOrder(config).map((m) => m.name)).toEqual(["prod-hot", "prod-db", "prod-hot2"]);
    });

    test("an asynchronous standby declared primary keeps the synchronous one synchronous", () => {
        const config = production({ primary: "prod-hot2" });
        expect(synchronousMembers(config)).toEqual(["prod-hot"]);
        expect(failoverOrder(config).map((m) => m.name)).toEqual(["prod-hot2", "prod-db", "prod-hot"]);
    });

    test("synchronous_standby_names waits for every synchronous standby, names quoted", () => {
        expect(synchronousStandbyNames([])).toBe("");
        expect(synchronousStandbyNames(["prod-hot"])).toBe('FIRST 1 ("prod-hot")');
        expect(synchronousStandbyNames(["a", "b-2"])).toBe('FIRST 2 ("a", "b-2")');
    });
});
