import { formatDuration, parseDuration } from "../../../components/config/config";

test.each([
    ["500ms", 500],
    ["15m", 900_000],
    ["4h", 14_400_000],
    ["1h30m", 5_400_000],
    ["2d", 172_800_000],
])("parseDuration(%s) = %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
    expect(formatDuration(ms)).toBe(text);
});

test.each(["", "90x", "4 hours", "h", "-1h", "1.5h"])("parseDuration(%j) is not a duration", (text) => {
    expect(parseDuration(text)).toBeUndefined();
});
