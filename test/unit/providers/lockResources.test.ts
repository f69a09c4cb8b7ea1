// The lock, binding and registry providers' check and diff. The registry compares with the live list;
// production cannot be reached here (port 1), so the list last seen stands and nothing changes.
import { administrativeLock, bindingRegistry, lockBinding } from "../../../components/locks/lockResources";
import { providerTable } from "./providerTables";

const UNREACHABLE = "postgresql://engine:pw@127.0.0.1:1/config";

describe("AdministrativeLock", () => {
    providerTable(administrativeLock, {
        inputs: { connection: UNREACHABLE, scope: "copy", holder: "stagewise/test", stage: "test", reason: "release 42", waitSeconds: 30, providerVersion: "1" },
        outputs: { acquiredAt: "2026-11-22T00:00:00.000Z" },
        bad: [
            ["a scope with capitals", { scope: "Copy" }, [{ property: "scope", reason: '"Copy" is not a lock scope (lower-case letters, digits, _ and -)' }]],
            ["a wait of two hours", { waitSeconds: 7200 }, [{ property: "waitSeconds", reason: "7200 is not a whole number of seconds from 0 to 3600" }]],
            ["a wait of half a second", { waitSeconds: 0.5 }, [{ property: "waitSeconds", reason: "0.5 is not a whole number of seconds from 0 to 3600" }]],
        ],
        replacing: [
            ["another server", { connection: "postgresql://engine:pw@127.0.0.1:2/config" }, ["connection"]],
            ["another scope", { scope: "admin" }, ["scope"]],
            ["another holder", { holder: "stagewise/dev" }, ["holder"]],
        ],
        inPlace: [
            ["another reason", { reason: "release 43" }, ["reason"]],
            ["another stage kind", { stage: "development" }, ["stage"]],
        ],
        placeholders: ["connection", "scope", "reason"],
    });
});

describe("LockBinding", () => {
    providerTable(lockBinding, {
        inputs: { productionConnection: UNREACHABLE, stagingStack: "stagewise/test", stagingServer: "test-db", stage: "test", endpoint: "127.0.0.1:15442", providerVersion: "1" },
        outputs: { boundAt: "2026-11-22T00:00:00.000Z" },
        replacing: [
            ["another production", { productionConnection: "postgresql://engine:pw@127.0.0.1:2/config" }, ["productionConnection"]],
            ["another staging stack", { stagingStack: "stagewise/dev" }, ["stagingStack"]],
            ["another staging server", { stagingServer: "test-db2" }, ["stagingServer"]],
        ],
        inPlace: [
            ["another endpoint", { endpoint: "127.0.0.1:15443" }, ["endpoint"]],
            ["another stage kind", { stage: "development" }, ["stage"]],
        ],
        placeholders: ["productionConnection", "endpoint"],
    });
});

describe("BindingRegistry", () => {
    providerTable(bindingRegistry, {
        inputs: { connection: UNREACHABLE, providerVersion: "1" },
        outputs: { bindings: [{ stagingStack: "stagewise/test", stagingServer: "test-db", stage: "test", endpoint: "127.0.0.1:15442" }] },
        replacing: [],
        inPlace: [["another server", { connection: "postgresql://engine:pw@127.0.0.1:2/config" }, ["connection"]]],
        placeholders: ["connection"],
    });
});
