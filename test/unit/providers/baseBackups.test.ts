// The BaseBackups provider's diff; frozen, so no backup is due and only the inputs count.
import { baseBackups } from "../../../components/backup/baseBackups";
import { providerTable } from "./providerTables";

const inputs = {
    source: { host: "127.0.0.1", port: 15432, superuserPassword: "su" },
    folder: "/nonexistent/stagewise-unit/base-backups",
    binDir: "/usr/lib/postgresql/15/bin",
    intervalSeconds: 3600,
    keep: 2,
    frozen: true,
    providerVersion: "1",
};

describe("BaseBackups", () => {
    providerTable(baseBackups, {
        inputs,
        outputs: { backups: [] },
        replacing: [
            ["another folder", { folder: "/nonexistent/stagewise-unit/other" }, ["folder"]],
            ["another OS user", { osUser: "pgrun" }, ["osUser"]],
        ],
        inPlace: [
            ["another number kept", { keep: 3 }, ["keep"]],
            ["another interval", { intervalSeconds: 600 }, ["intervalSeconds"]],
        ],
        placeholders: ["source", "keep"],
    });

    test("diff: no longer frozen is a change (and, with no backup in the folder, one is due)", async () => {
        expect(await baseBackups.provider.diff!("id", { ...inputs, backups: [] }, { ...inputs, frozen: undefined })).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    });
});
