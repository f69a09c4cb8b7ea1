// The EnginePrimary provider's diff; the work database cannot be read here, so no unit is seen acting:
// that is always drift.
import { enginePrimary } from "../../../components/engine/enginePrimary";
import { providerTable } from "./providerTables";

providerTable(enginePrimary, {
    inputs: { primary: "unit-1", workUrl: "postgresql://engine:pw@127.0.0.1:1/work", timeoutSeconds: 60, providerVersion: "1" },
    outputs: { actingPrimary: "unit-1", lastRecovery: null },
    replacing: [],
    inPlace: [["another declared primary", { primary: "unit-2" }, ["primary"]]],
    placeholders: ["primary", "workUrl"],
    drift: true,
});
