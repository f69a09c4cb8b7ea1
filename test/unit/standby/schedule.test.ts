import { planLogShipping, recoveryTargetFor, shippingSettings } from "../../../components/standby/schedule";

test("the runbook's schedule (hourly backups and shipping, 3h apply delay) meets a 4h RPO with 2h worst-case loss", () => {
    const result = planLogShipping({ rpo: "4h" });
    expect(result).toEqual({
        ok: true,
        plan: {
            rpoMs: 14_400_000,
            logBackupIntervalMs: 3_600_000,
            shipIntervalMs: 3_600_000,
            applyDelayMs: 10_800_000,
            worstCaseLossMs: 7_200_000,
            arithmetic: "1h + 1h = 2h <= 4h",
        },
    });
});

test.each<[string, Parameters<typeof planLogShipping>[0], string[]]>([
    ["intervals that add up past the RPO", { rpo: "4h", logBackupInterval: "3h", shipInterval: "2h" }, [
        "rpo 4h cannot be met: worst-case data loss = log backup interval + shipping interval = 3h + 2h = 5h > 4h (shorten an interval, or accept more data loss)",
    ]],
    ["a malformed RPO and interval", { rpo: "90x", shipInterval: "soon" }, [
        'rpo: "90x" is not a positive duration (use e.g. "15m", "1h")',
        'shipInterval: "soon" is not a positive duration (use e.g. "15m", "1h")',
    ]],
    ["log backups every few seconds", { rpo: "15m", logBackupInterval: "30s", shipInterval: "5m" }, [
        "logBackupInterval: 30s is below 1m (each log backup archives a whole 16 MB WAL segment)",
    ]],
])("rejects %s, showing the arithmetic", (_name, intervals, problems) => {
    expect(planLogShipping(intervals)).toEqual({ ok: false, problems });
});

test("the plan becomes archive_timeout on the primary and a delayed restore at the DR site", () => {
    const result = planLogShipping({ rpo: "1h", logBackupInterval: "15m", shipInterval: "10m", applyDelay: "30m" });
    if (!result.ok) {
        throw new Error(result.problems.join("\n"));
    }
    expect(shippingSettings(result.plan, { archive: "/srv/prod/wal", incoming: "/srv/dr/wal-in", applied: "/srv/dr/wal-done" })).toEqual({
        primary: {
            archive_mode: "on",
            archive_timeout: "900s",
            archive_command: "test ! -f /srv/prod/wal/%f && cp %p /srv/prod/wal/%f",
        },
        standby: {
            restore_command: "cp /srv/dr/wal-in/%f %p",
            recovery_min_apply_delay: "1800s",
            archive_cleanup_command: "pg_archivecleanup -n -x .partial /srv/dr/wal-in %r | xargs -r mv -t /srv/dr/wal-done",
        },
    });
    expect(() => shippingSettings(result.plan, { archive: "/srv/my wal", incoming: "/x", applied: "/y" })).toThrow(
        'folder "/srv/my wal" must not contain quotes, spaces or %',
    );
});

test("the recovery instant is the time of the disaster minus the margin, to the millisecond", () => {
    expect(recoveryTargetFor(new Date("2026-11-22T15:35:00.000Z"))).toBe("2026-11-22T13:35:00.000Z");
    expect(recoveryTargetFor(new Date("2026-11-22T15:35:00.000Z"), "30m")).toBe("2026-11-22T15:05:00.000Z");
    expect(() => recoveryTargetFor(new Date(), "two hours")).toThrow('margin "two hours" is not a duration (use e.g. "2h")');
});
