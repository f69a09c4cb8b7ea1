// Settings a PostgreSQL minor release added within the major version of pgSettingNames.ts (that list
// is read from the newest minor; an older minor's server lacks these). Written by hand: a minor
// release that adds a setting is rare and named in its release notes.

/** Setting name -> the first minor release of PG_SETTING_NAMES_MAJOR that has it. */
export const SETTINGS_ADDED_IN_MINOR: Readonly<Record<string, number>> = {
    composite_type_mismatch: 20,
    output_plugin_libraries: 20,
};

/** The committed names as a server of minor release `minor` lists them. */
export function settingNamesOfMinor(names: readonly string[], minor: number): string[] {
    return names.filter((name) => (SETTINGS_ADDED_IN_MINOR[name] ?? 0) <= minor);
}
