// The DrLogShipping provider's diff; stopped (after cutover), so no dead shipper is drift.
import { drShipping } from "../../../components/dr/drShipping";
import { providerTable } from "./providerTables";

providerTable(drShipping, {
    inputs: { from: "/nonexistent/stagewise-unit/wal-archive", to: "/nonexistent/stagewise-unit/incoming", stateDir: "/nonexistent/stagewise-unit/state", intervalSeconds: 5, stopped: true, providerVersion: "1" },
    outputs: { running: false, newestShipped: null, lastRunAt: null, lastError: null },
    replacing: [
        ["another incoming folder", { to: "/nonexistent/stagewise-unit/other" }, ["to"]],
        ["another state folder", { stateDir: "/nonexistent/stagewise-unit/other" }, ["stateDir"]],
        ["another OS user", { osUser: "pgrun" }, ["osUser"]],
    ],
    inPlace: [
        ["another archive", { from: "/nonexistent/stagewise-unit/archive2" }, ["from"]],
        ["another interval", { intervalSeconds: 10 }, ["intervalSeconds"]],
    ],
    placeholders: ["from", "intervalSeconds"],
});

test("diff: a shipper that should run and does not is drift", async () => {
    const inputs = { from: "/a", to: "/b", stateDir: "/nonexistent/stagewise-unit/state", intervalSeconds: 5, stopped: false, providerVersion: "1" };
    expect(await drShipping.provider.diff!("id", { ...inputs, running: false, newestShipped: null, lastRunAt: null, lastError: null }, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
});
