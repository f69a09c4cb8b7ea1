// The DisasterRecoveryServer provider's diff; a cold site that was never cut over runs no server, so
// there is no drift here.
import { drServer } from "../../../components/dr/drServer";
import { providerTable } from "./providerTables";

providerTable(drServer, {
    inputs: {
        serverName: "prod-db",
        tier: "cold",
        binDir: "/usr/lib/postgresql/15/bin",
        serverDir: "/nonexistent/stagewise-unit/dr-db",
        host: "127.0.0.1",
        port: 15452,
        backupsDir: "/nonexistent/stagewise-unit/base-backups",
        incoming: "/nonexistent/stagewise-unit/incoming",
        tailFolder: "/nonexistent/stagewise-unit/tail",
        archive: "/nonexistent/stagewise-unit/wal-archive",
        production: { host: "127.0.0.1", port: 15432, superuserPassword: "su" } as never,
        productionDataDir: "",
        applyDelaySeconds: 0,
        cutover: null,
        providerVersion: "2",
    },
    outputs: { state: "standing by", running: false, inRecovery: false, replayedTo: null, report: null, serverVersion: "", systemIdentifier: "", startedAt: "" },
    replacing: [
        ["another folder", { serverDir: "/nonexistent/stagewise-unit/other" }, ["serverDir"]],
        ["another port", { port: 15453 }, ["port"]],
        ["another OS user", { osUser: "pgrun" }, ["osUser"]],
        ["another tier", { tier: "warm" }, ["tier"]],
    ],
    inPlace: [
        ["a cutover target", { cutover: { targetTime: "2026-11-22T10:00:00Z" } as never }, ["cutover"]],
        ["another apply delay", { applyDelaySeconds: 60 }, ["applyDelaySeconds"]],
    ],
    placeholders: ["production", "cutover", "applyDelaySeconds"],
});
