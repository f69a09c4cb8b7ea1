// What the e2e tests expect to read in a stage's outputs, where several of them expect the same.

/** A hot standby's entry in `standbys` while it stands by: on `port`, streaming through `slot`, synchronous or not. */
export function streamingHotStandby(port: number, slot: string, synchronous = false): Record<string, unknown> {
    return {
        tier: "hot",
        endpoint: `127.0.0.1:${port}`,
        slot,
        running: true,
        streaming: true,
        lagBytes: expect.any(Number),
        synchronous,
        syncState: synchronous ? "sync" : "async",
        role: "standby",
    };
}
