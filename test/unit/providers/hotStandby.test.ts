// The HotStandby provider's check and diff, without a server (so its health rule always finds drift).
import { hotStandby } from "../../../components/standby/hot/hotStandby";
import { providerTable } from "./providerTables";

providerTable(hotStandby, {
    inputs: {
        standbyName: "prod-hot",
        primary: { host: "127.0.0.1", port: 15432, superuserPassword: "su" } as never,
        binDir: "/usr/lib/postgresql/15/bin",
        serverDir: "/nonexistent/stagewise-unit/prod-hot",
        host: "127.0.0.1",
        port: 15433,
        settings: { work_mem: "8MB" },
        role: "standby",
        synchronous: false,
        providerVersion: "3",
    },
    outputs: { slot: "prod_hot", running: true, inRecovery: true, streaming: true, lagBytes: 0, syncState: "async" },
    defaults: { settings: {}, role: "standby", synchronous: false },
    replacing: [
        ["another folder", { serverDir: "/nonexistent/stagewise-unit/other" }, ["serverDir"]],
        ["another port", { port: 15434 }, ["port"]],
        ["another name", { standbyName: "prod-hot2" }, ["standbyName"]],
        ["another OS user", { osUser: "pgrun" }, ["osUser"]],
    ],
    inPlace: [
        ["declared the primary", { role: "primary" }, ["role"]],
        ["declared synchronous", { synchronous: true }, ["synchronous"]],
        ["another setting", { settings: { work_mem: "16MB" } }, ["settings"]],
    ],
    placeholders: ["port", "serverDir", "primary", "settings"],
    drift: true,
});
