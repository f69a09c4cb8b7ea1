// The committed list of setting names (components/config/pgSettingNames.ts) against a real server's
// pg_settings: a stale list fails here (regenerate it with scripts/pg-setting-names.ts).
import { ClusterLocation, connect } from "../../components/postgres/cluster";
import { PG_READ_ONLY_SETTING_NAMES, PG_SETTING_NAMES, PG_SETTING_NAMES_MAJOR } from "../../components/config/pgSettingNames";
import { settingNamesOfMinor } from "../../components/config/pgSettingMinors";
import { clusterForFile } from "../harness/postgres";

jest.setTimeout(120_000);

const PASSWORD = "integration-setting-names-pw";
let loc: ClusterLocation;
clusterForFile("stagewise-setting-names-", PASSWORD, {}, (made) => (loc = made));

test("the committed names (as the server's minor release has them) are exactly the server's pg_settings, and its read-only ones exactly those of context internal", async () => {
    const client = await connect(loc, PASSWORD);
    try {
        const { major, minor } = (await client.query("SELECT current_setting('server_version_num')::int / 10000 AS major, current_setting('server_version_num')::int % 100 AS minor")).rows[0];
        const { rows } = await client.query("SELECT name, context FROM pg_settings ORDER BY name COLLATE \"C\"");
        // Exactly the server's, as its minor release lists them (components/config/pgSettingMinors.ts).
        expect({ major, names: settingNamesOfMinor(PG_SETTING_NAMES, minor), readOnly: settingNamesOfMinor(PG_READ_ONLY_SETTING_NAMES, minor) }).toEqual({
            major: PG_SETTING_NAMES_MAJOR,
            names: rows.map((r) => r.name),
            readOnly: rows.filter((r) => r.context === "internal").map((r) => r.name),
        });
    } finally {
        await client.end();
    }
});
