// The setting names a minor release of the committed major version lists.
import { PG_SETTING_NAMES } from "../../../components/config/pgSettingNames";
import { SETTINGS_ADDED_IN_MINOR, settingNamesOfMinor } from "../../../components/config/pgSettingMinors";

test("an older minor lacks exactly the settings a later one added; the newest has every committed name", () => {
    const added = Object.keys(SETTINGS_ADDED_IN_MINOR);
    expect(added.every((name) => PG_SETTING_NAMES.includes(name))).toBe(true);
    expect(PG_SETTING_NAMES.filter((name) => !settingNamesOfMinor(PG_SETTING_NAMES, 18).includes(name))).toEqual(["composite_type_mismatch", "output_plugin_libraries"]);
    expect(settingNamesOfMinor(PG_SETTING_NAMES, 20)).toEqual(PG_SETTING_NAMES);
});
