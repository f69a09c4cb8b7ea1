/** Unit tests run first and fast; integration and e2e tests drive real PostgreSQL and the real engine. */
module.exports = {
    testEnvironment: "node",
    // The Pulumi SDK keeps state on globals; jest's soft clean-up of them only produces warnings.
    testEnvironmentOptions: { globalsCleanup: "off" },
    transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
    testMatch: ["<rootDir>/test/**/*.test.ts"],
    testTimeout: 30_000,
    maxWorkers: 1,
};
