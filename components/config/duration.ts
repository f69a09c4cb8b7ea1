// Durations as operators write them in runbooks: "15m", "4h", "1h30m", "2d", "500ms".

const UNIT_MS: Record<string, number> = {
    ms: 1,
    s: 1_000,
    m: 60_000,
    h: 3_600_000,
    d: 86_400_000,
};

const DURATION = /^(\d+(ms|s|m|h|d))+$/;
const PART = /(\d+)(ms|s|m|h|d)/g;

/** Milliseconds in `text`, or `undefined` when it is not a duration. */
export function parseDuration(text: string): number | undefined {
    if (!DURATION.test(text)) {
        return undefined;
    }
    let total = 0;
    for (const [, amount, unit] of text.matchAll(PART)) {
        total += Number(amount) * UNIT_MS[unit];
    }
    return total;
}

/** The shortest exact spelling of `ms`, e.g. 5_400_000 → "1h30m". */
export function formatDuration(ms: number): string {
    if (ms === 0) {
        return "0s";
    }
    let rest = ms;
    let text = "";
    for (const unit of ["d", "h", "m", "s", "ms"]) {
        const size = UNIT_MS[unit];
        const amount = Math.floor(rest / size);
        if (amount > 0) {
            text += `${amount}${unit}`;
            rest -= amount * size;
        }
    }
    return text;
}
