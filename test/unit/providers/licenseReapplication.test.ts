// The LicenseReapplication provider's diff: other tables are recorded anew, given rows are applied,
// recorded rows left out of the inputs stay as recorded.
import { licenseReapplication } from "../../../components/dr/licenseReapplication";
import { providerTable } from "./providerTables";

const tables = [{ schema: "HostServer", table: "LicenseKey" }] as never;
const rows = { "HostServer.LicenseKey": [{ Key: "site-a" }] };

providerTable(licenseReapplication, {
    inputs: { connection: "postgresql://engine:pw@127.0.0.1:1/config", tables, reapply: "1", providerVersion: "2" },
    outputs: { rows, recordedAt: "2026-11-22T00:00:00.000Z", reappliedAt: "", rowsReapplied: 0 },
    replacing: [
        ["another database", { connection: "postgresql://engine:pw@127.0.0.1:2/config" }, ["connection"]],
        ["other tables", { tables: [{ schema: "Server", table: "Server" }] as never }, ["tables"]],
    ],
    inPlace: [
        ["a new reapply", { reapply: "2" }, ["reapply"]],
        ["other given rows", { rows: { "HostServer.LicenseKey": [{ Key: "site-b" }] } }, ["rows"]],
    ],
    placeholders: ["connection", "reapply", "rows"],
});
