// Stand-in for the SDK's closure serializer under jest, where its V8 inspector hooks are unavailable.
// Dynamic providers are serialized for real by the end-to-end tests, which run the real engine.
export async function serializeFunction(): Promise<{ text: string; containsSecrets: boolean }> {
    return { text: "exports.handler = undefined; // serialized by the real engine only", containsSecrets: false };
}
