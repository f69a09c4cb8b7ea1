// The one wait-until loop: ask, and ask again every `intervalMs` until the answer is there or the
// time is up; then fail with the caller's own message. The check runs at least once, and once more
// after the deadline has passed, so a slow machine still gets its last look.

export interface WaitOptions {
    timeoutMs: number;
    intervalMs: number;
    /** The error when the time is up (or `stopWhen` says so): a message, or built then (e.g. with a log's tail). */
    failure?: string | (() => string | Error);
    /** Gives up at once when this holds (the process that should answer has ended). */
    stopWhen?: () => boolean;
}

function failed(options: WaitOptions): Error {
    const failure = typeof options.failure === "function" ? options.failure() : options.failure;
    return failure instanceof Error ? failure : new Error(failure ?? `not done within ${Math.round(options.timeoutMs / 1000)} s`);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves with the check's first answer that is not undefined, null or false. */
export async function waitUntil<T>(check: () => Promise<T | undefined | null | false> | T | undefined | null | false, options: WaitOptions): Promise<T> {
    const deadline = Date.now() + options.timeoutMs;
    for (;;) {
        const answer = await check();
        if (answer !== undefined && answer !== null && answer !== false) {
            return answer;
        }
        if (Date.now() > deadline || options.stopWhen?.() === true) {
            throw failed(options);
        }
        await pause(options.intervalMs);
    }
}

/** waitUntil for synchronous code (a provider step that cannot await): the thread sleeps between looks. */
export function waitUntilSync<T>(check: () => T | undefined | null | false, options: WaitOptions): T {
    const deadline = Date.now() + options.timeoutMs;
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
        const answer = check();
        if (answer !== undefined && answer !== null && answer !== false) {
            return answer;
        }
        if (Date.now() > deadline || options.stopWhen?.() === true) {
            throw failed(options);
        }
        Atomics.wait(sleeper, 0, 0, options.intervalMs);
    }
}
