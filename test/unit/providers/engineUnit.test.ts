// The EngineUnit provider's diff; no unit runs here, so a dead unit is always drift.
import { engineUnit } from "../../../components/engine/engineUnit";
import { providerTable } from "./providerTables";

providerTable(engineUnit, {
    inputs: { name: "unit-1", command: ["node", "unit.js"], workUrl: "postgresql://engine:pw@127.0.0.1:1/work", stateDir: "/nonexistent/stagewise-unit/units", stepMs: 100, takeoverMs: 1_000, providerVersion: "1" },
    outputs: { pid: 1234, running: true },
    replacing: [
        ["another name", { name: "unit-2" }, ["name"]],
        ["another state folder", { stateDir: "/nonexistent/stagewise-unit/other" }, ["stateDir"]],
    ],
    inPlace: [
        ["another command", { command: ["node", "unit2.js"] }, ["command"]],
        ["another step", { stepMs: 200 }, ["stepMs"]],
        ["another takeover time", { takeoverMs: 2_000 }, ["takeoverMs"]],
        ["another work database", { workUrl: "postgresql://engine:pw@127.0.0.1:2/work" }, ["workUrl"]],
    ],
    placeholders: ["workUrl", "command"],
    drift: true,
});
