// During a preview, inputs that depend on a resource being updated arrive at a dynamic provider as
// this placeholder. Diffs treat it as "not known yet", never as a change of target.
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Inputs among `keys` whose known values differ between `olds` and `news`. */
export function changedKnown<T extends object, K extends keyof T>(olds: T, news: T, keys: readonly K[]): K[] {
    return keys.filter((k) => news[k] !== (UNKNOWN as unknown) && olds[k] !== news[k]);
}
