// The AdminObject provider's diff. It reads the applied row back to find drift; the server cannot be
// reached here (port 1), which it reports itself, so only the inputs count.
import { adminObject } from "../../../components/admin/adminObject";
import { providerTable } from "./providerTables";

providerTable(adminObject, {
    inputs: { connection: "postgresql://engine:pw@127.0.0.1:1/work", kind: "process", name: "order-approval", definition: { version: 1 }, hash: "abc", providerVersion: "1" },
    outputs: { appliedHash: "abc", verified: true },
    replacing: [
        ["another database", { connection: "postgresql://engine:pw@127.0.0.1:2/work" }, ["connection"]],
        ["another kind", { kind: "trigger" }, ["kind"]],
        ["another name", { name: "invoice-run" }, ["name"]],
    ],
    inPlace: [["another definition", { definition: { version: 2 }, hash: "def" }, ["hash"]]],
    placeholders: ["connection", "hash"],
});
