// Helpers for the dynamic providers' diffs.
//
// During a preview, inputs that depend on a resource being updated arrive at a dynamic provider as
// this placeholder. Diffs treat it as "not known yet", never as a change of target.
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Inputs among `keys` whose known values differ (as data) between `olds` and `news`. */
export function changedKnown<T extends object, K extends keyof T>(olds: T, news: T, keys: readonly K[]): K[] {
    return keys.filter((k) => news[k] !== (UNKNOWN as unknown) && !sameData(olds[k], news[k]));
}

/**
 * Equal as data: object keys in any order (state read back from the engine has them sorted, the
 * program's inputs do not), arrays in order.
 */
export function sameData(a: unknown, b: unknown): boolean {
    const canonical = (v: unknown): unknown =>
        Array.isArray(v)
            ? v.map(canonical)
            : v !== null && typeof v === "object"
              ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, x]) => [k, canonical(x)]))
              : v;
    return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** Whether a server endpoint moved to another host or port (a placeholder is not known to have moved). */
export function endpointMoved(olds: { host: string; port: number }, news: { host: string; port: number }): boolean {
    return typeof news === "object" && news !== null && (olds.host !== news.host || olds.port !== news.port);
}

/** Whether a server's machine is another one now (its address or sshd port), not the same one with a new key or user. */
export function machineMoved(olds: { address: string; port: number } | undefined, news: { address: string; port: number } | undefined): boolean {
    return (news as unknown) !== UNKNOWN && `${olds?.address ?? ""}:${olds?.port ?? ""}` !== `${news?.address ?? ""}:${news?.port ?? ""}`;
}
