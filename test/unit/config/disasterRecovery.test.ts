import { cutoverTarget } from "../../../components/config/drRules";
import { drLicenceRows } from "../../../components/dr/disasterRecovery";
import { parseStageConfig } from "../../../components/config/config";

describe("cutoverTarget", () => {
    test.each([
        [{ targetTime: "2026-11-22T14:35:00+01:00" }, { time: "2026-11-22T13:35:00.000Z" }],
        [{ targetName: "before-release" }, { name: "before-release" }],
        [{ latest: true as const }, { latest: true }],
        // The runbook: the time of the disaster minus two hours, by default.
        [{ disasterTime: "2026-11-22T15:35:00Z" }, { time: "2026-11-22T13:35:00.000Z" }],
        [{ disasterTime: "2026-11-22T15:35:00Z", margin: "30m" }, { time: "2026-11-22T15:05:00.000Z" }],
    ])("%j recovers to %j", (cutover, target) => {
        expect(cutoverTarget(cutover)).toEqual(target);
    });
});

test("a DR site's configuration fills its defaults, and its licence rows come from it", () => {
    const result = parseStageConfig(
        {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: 56432 } }),
            "stagewise:disasterRecovery": JSON.stringify({ of: "organization/stagewise/prod", tier: "cold" }),
            "stagewise:licenseKey": "LIC-DR",
            "stagewise:cutover": JSON.stringify({ disasterTime: "2026-11-22T15:35:00Z" }),
        },
        new Set(["stagewise:licenseKey"]),
    );
    if (!result.ok) throw new Error(result.problems.join("\n"));
    expect(result.config.disasterRecovery).toEqual({
        of: "organization/stagewise/prod",
        tier: "cold",
        applyDelay: "3h",
        shipInterval: "1h",
        baseBackupInterval: "24h",
        keepBaseBackups: 2,
    });
    expect(drLicenceRows(result.config, "prod-db", "127.0.0.1:56432", "LIC-DR")).toEqual({
        "Server.Server": [{ ServerName: "prod-db", HostName: "127.0.0.1:56432", Role: "primary", UpdatedAt: "1970-01-01T00:00:00+00:00" }],
        "HostServer.LicenseKey": [{ ServerName: "prod-db", LicenseKey: "LIC-DR", ValidUntil: null, UpdatedAt: "1970-01-01T00:00:00+00:00" }],
    });
});
