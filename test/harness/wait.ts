// Waiting for something a test expects to happen soon: a probe polled until it returns a value.

/**
 * Polls `probe` every `pollMs` until it resolves to something other than undefined (a probe that
 * throws counts as not yet) and returns that; throws "`what`: not seen within N s" after `timeoutMs`.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, pollMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe().catch(() => undefined);
        if (value !== undefined) {
            return value;
        }
        if (Date.now() > deadline) {
            throw new Error(`${what}: not seen within ${timeoutMs / 1000} s`);
        }
        await new Promise((r) => setTimeout(r, pollMs));
    }
}
