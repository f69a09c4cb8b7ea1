// The `settings` map of a server or standby: postgresql.conf settings by name.
import { z } from "zod";
import { settingValue } from "./primitives";

/** postgresql.conf settings, by name. */
export const serverSettings = z.record(z.string(), settingValue).default({});
