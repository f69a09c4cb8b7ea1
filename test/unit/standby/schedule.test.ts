import { planLogShipping, recoveryTargetFor, shippingSettings, withApplyDelay } from "../../../components/shipping/schedule";

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
    ["log backups every other second, shipping every half second", { rpo: "15m", logBackupInterval: "2s", shipInterval: "500ms" }, [
        "logBackupInterval: 2s is below 5s (each log backup archives a whole 16 MB WAL segment)",
        "shipInterval: 500ms is below 1s (the shipper wakes at most once a second)",
    ]],
    ["a negative-looking apply delay", { rpo: "4h", applyDelay: "-1h" }, [
        'applyDelay: "-1h" is not a duration (use e.g. "15m", "1h", or "0s")',
    ]],
])("rejects %s, showing the arithmetic", (_name, intervals, problems) => {
    expect(planLogShipping(intervals)).toEqual({ ok: false, problems });
});

test("the plan becomes archive_timeout on the primary and a delayed restore at the DR site", () => {
    const result = planLogShipping({ rpo: "1h", logBackupInterval: "15m", shipInterval: "10m", applyDelay: "30m" });
    if (!result.ok) {
        throw new Error(result.problems.join("\n"));
    }
    expect(shippingSettings(result.plan, { archive: "/srv/prod/wal", incoming: "/srv/dr/wal-in", applied: "/srv/dr/wal-done" }, "/opt/pg/bin")).toEqual({
        primary: {
            archive_mode: "on",
            archive_timeout: "900s",
            archive_command:
                "if test -f /srv/prod/wal/%f; then cmp -s %p /srv/prod/wal/%f; else cp %p /srv/prod/wal/.%f.part && mv /srv/prod/wal/.%f.part /srv/prod/wal/%f; fi",
        },
        standby: {
            restore_command: "test -f /srv/dr/wal-in/%f && cp /srv/dr/wal-in/%f %p",
            recovery_min_apply_delay: "1800s",
            wal_retrieve_retry_interval: "5s",
            archive_cleanup_command: "/opt/pg/bin/pg_archivecleanup -n -x .partial /srv/dr/wal-in %r | xargs -r mv -t /srv/dr/wal-done",
        },
    });
    expect(() => shippingSettings(result.plan, { archive: "/srv/my wal", incoming: "/x", applied: "/y" })).toThrow(
        'folder "/srv/my wal" must not contain quotes, spaces or %',
    );
});

test("test-sized intervals: 5 s log backups, 1 s shipping, no apply delay", () => {
    const result = planLogShipping({ rpo: "1m", logBackupInterval: "5s", shipInterval: "1s", applyDelay: "0s" });
    expect(result).toMatchObject({ ok: true, plan: { worstCaseLossMs: 6_000, applyDelayMs: 0, arithmetic: "5s + 1s = 6s <= 1m" } });
    if (result.ok) {
        expect(shippingSettings(result.plan, { archive: "/a", incoming: "/i", applied: "/d" }).standby).toMatchObject({
            recovery_min_apply_delay: "0s",
            wal_retrieve_retry_interval: "1s",
        });
    }
});

test("the recovery instant is the time of the disaster minus the margin, to the millisecond", () => {
    expect(recoveryTargetFor(new Date("2026-11-22T15:35:00.000Z"))).toBe("2026-11-22T13:35:00.000Z");
    expect(recoveryTargetFor(new Date("2026-11-22T15:35:00.000Z"), "30m")).toBe("2026-11-22T15:05:00.000Z");
    expect(() => recoveryTargetFor(new Date(), "two hours")).toThrow('margin "two hours" is not a duration (use e.g. "2h")');
});

test("withApplyDelay gives a warm standby its own applyDelay on the stage's one plan, and refuses what is not a duration", () => {
    const result = planLogShipping({ rpo: "4h", logBackupInterval: "1h", shipInterval: "1h", applyDelay: "3h" });
    if (!result.ok) throw new Error(result.problems.join("; "));
    expect(withApplyDelay(result.plan, undefined)).toBe(result.plan);
    expect(withApplyDelay(result.plan, "0s")).toEqual({ ...result.plan, applyDelayMs: 0 });
    expect(withApplyDelay(result.plan, "30m")).toEqual({ ...result.plan, applyDelayMs: 1_800_000 });
    expect(withApplyDelay(result.plan, "soon")).toBeUndefined();
});
