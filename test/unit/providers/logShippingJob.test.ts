// The LogShippingJob provider's check and diff (no receivers here, so no shipper can be found dead).
import { logShippingJob } from "../../../components/shipping/logShippingJob";
import { providerTable } from "./providerTables";

const primary = { host: "127.0.0.1", port: 15432, superuserPassword: "su" };

providerTable(logShippingJob, {
    inputs: { archive: "/nonexistent/stagewise-unit/wal-archive", receiversDir: "/nonexistent/stagewise-unit/receivers", receivers: [], shipIntervalMs: 5_000, primary, providerVersion: "1" },
    outputs: { archiveFailing: false, lastArchiveError: null, receiverStates: {}, newestShippedLogAgeSeconds: null },
    bad: [
        ["a relative archive", { archive: "wal" }, [{ property: "archive", reason: '"wal" is not an absolute path' }]],
        ["a relative receivers folder", { receiversDir: "receivers" }, [{ property: "receiversDir", reason: '"receivers" is not an absolute path' }]],
        ["an interval below a second", { shipIntervalMs: 500 }, [{ property: "shipIntervalMs", reason: "500 ms is below 1 s" }]],
    ],
    replacing: [["another receivers folder", { receiversDir: "/nonexistent/stagewise-unit/other" }, ["receiversDir"]]],
    inPlace: [
        ["another archive", { archive: "/nonexistent/stagewise-unit/archive2" }, ["archive"]],
        ["another interval", { shipIntervalMs: 10_000 }, ["shipIntervalMs"]],
        ["another OS user", { osUser: "pgrun" }, ["osUser"]],
        ["a new receiver", { receivers: ["prod-warm"] }, ["receivers"]],
        ["a new superuser password", { primary: { ...primary, superuserPassword: "su2" } }, ["primary"]],
    ],
    placeholders: ["archive", "receiversDir", "shipIntervalMs", "primary"],
});
