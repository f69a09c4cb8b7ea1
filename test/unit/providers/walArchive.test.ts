// The WalArchive provider's check and diff; its folder exists here, so it is no drift.
import * as os from "os";
import { walArchive } from "../../../components/shipping/walArchive";
import { providerTable } from "./providerTables";

describe("WalArchive", () => {
    providerTable(walArchive, {
        inputs: { path: os.tmpdir(), retain: false, providerVersion: "1" },
        outputs: {},
        defaults: { retain: false },
        bad: [["a relative path", { path: "wal-archive" }, [{ property: "path", reason: '"wal-archive" is not an absolute path' }]]],
        replacing: [
            ["another folder", { path: "/nonexistent/stagewise-unit/other" }, ["path"]],
            ["another OS user", { osUser: "pgrun" }, ["osUser"]],
        ],
        inPlace: [["kept on delete", { retain: true }, ["retain"]]],
        placeholders: ["path", "retain"],
    });

    test("diff: a removed archive folder is drift, and `up` creates it again", async () => {
        const inputs = { path: "/nonexistent/stagewise-unit/wal-archive", retain: false, providerVersion: "1" };
        expect(await walArchive.provider.diff!("id", inputs, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    });
});
