// The WarmStandby provider's check and diff, without a server (so a stopped standby is always drift):
// a standby of another primary is a new copy.
import { warmStandby } from "../../../components/standby/warm/warmStandby";
import { providerTable } from "./providerTables";

const primary = { host: "127.0.0.1", port: 15432, superuserPassword: "su" };

providerTable(warmStandby, {
    inputs: {
        standbyName: "prod-warm",
        primary,
        binDir: "/usr/lib/postgresql/15/bin",
        serverDir: "/nonexistent/stagewise-unit/prod-warm",
        host: "127.0.0.1",
        port: 15434,
        settings: { recovery_min_apply_delay: "60s" },
        providerVersion: "1",
    },
    outputs: { running: true, inRecovery: true, lastReplayedAt: null, lagSeconds: null },
    replacing: [
        ["another folder", { serverDir: "/nonexistent/stagewise-unit/other" }, ["serverDir"]],
        ["another port", { port: 15435 }, ["port"]],
        ["another name", { standbyName: "prod-warm2" }, ["standbyName"]],
        ["another primary", { primary: { ...primary, port: 15440 } }, ["primary"]],
    ],
    inPlace: [["another apply delay", { settings: { recovery_min_apply_delay: "120s" } }, ["settings"]]],
    placeholders: ["port", "primary", "settings"],
    drift: true,
});
