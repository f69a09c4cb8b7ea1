// Building blocks of the configuration schema: values as users write them, and messages that name
// the problem in their own terms (what was received, what is allowed).
import { z } from "zod";
import { parseDuration } from "./duration";

/** How a received value is shown in a message (never used for secrets). */
export function show(value: unknown): string {
    if (value === undefined) {
        return "nothing";
    }
    const text = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** A message for a missing value, or for a received one that is not what is allowed. */
export function expect(what: string, allowed: string) {
    return (issue: { input?: unknown }) =>
        issue.input === undefined ? `missing (${allowed})` : `${show(issue.input)} is not ${what} (${allowed})`;
}

/** An object that rejects unknown keys, listing the keys it allows. */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T) {
    const allowed = Object.keys(shape).join(", ");
    return z.strictObject(shape, {
        error: (issue) => {
            if (issue.code === "unrecognized_keys") {
                return `unknown key (allowed: ${allowed})`; // problems.ts writes one line per key
            }
            return expect("an object", `use a map with keys: ${allowed}`)(issue);
        },
    });
}

export const STAGE_KINDS = ["production", "development", "test"] as const;
export type StageKind = (typeof STAGE_KINDS)[number];

export const stageKind = z.enum(STAGE_KINDS, { error: expect("a stage kind", `use one of: ${STAGE_KINDS.join(", ")}`) });

export const duration = z
    .string({ error: expect("a duration", 'use e.g. "15m", "4h"') })
    .refine((text) => parseDuration(text) !== undefined, {
        error: (issue) => `${show(issue.input)} is not a duration (use e.g. "15m", "4h", "1h30m")`,
    });

export const port = z
    .number({ error: expect("a port", "use a whole number from 1024 to 65535") })
    .refine((n) => Number.isInteger(n) && n >= 1024 && n <= 65535, {
        error: (issue) => `${show(issue.input)} is not a port (use a whole number from 1024 to 65535)`,
    });

const IDENTIFIER = /^[a-z][a-z0-9_]{0,62}$/;
export const identifier = (what: string) =>
    z.string({ error: expect(`a ${what}`, "use lower-case letters, digits and _") }).refine((s) => IDENTIFIER.test(s), {
        error: (issue) => `${show(issue.input)} is not a ${what} (use lower-case letters, digits and _, starting with a letter)`,
    });

const LOOPBACK = /^(127(\.\d{1,3}){3}|localhost|::1)$/;
/** An OS user name as Debian's useradd accepts it. */
export const OS_USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

/** The OS user that runs servers: never root, which PostgreSQL refuses to run as. */
export const serverOsUserName = z
    .string({ error: expect("a user name", "use an OS user name") })
    .refine((u) => OS_USER_NAME.test(u), { error: (issue) => `${show(issue.input)} is not an OS user name (use lower-case letters, digits, _ and -, e.g. "postgres")` })
    .refine((u) => u !== "root", { error: '"root" cannot run the servers (PostgreSQL refuses to run as root; use an unprivileged user such as "postgres")' });

/** The name of a machine under `hosts` (never "localhost", which is the deploying machine's loopback). */
export const HOST_NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** Where a member runs: a loopback address of the deploying machine, or the name of one of `hosts`. */
export const memberHost = z
    .string({ error: expect("a host", 'use a loopback address such as "127.0.0.1", or the name of one of hosts') })
    .refine((h) => LOOPBACK.test(h) || HOST_NAME.test(h), {
        error: (issue) => `${show(issue.input)} is neither a loopback address of this machine (127.0.0.1, localhost or ::1) nor the name of one of hosts (declare the machine as hosts.<name> with its address, and write that name here)`,
    });

/** Whether a member's `host` names one of `hosts` (anything else is a loopback address of the deploying machine). */
export function isHostName(host: string): boolean {
    return !LOOPBACK.test(host) && HOST_NAME.test(host);
}

export const settingValue = z.union([z.string(), z.number(), z.boolean()], {
    error: expect("a setting value", "use a string, number or true/false"),
});

export const SERVER_NAME = /^[a-z][a-z0-9-]{0,30}$/;

/** An instant as ISO 8601 with its time zone, e.g. "2026-11-22T13:35:00Z". */
export const instant = z
    .string({ error: expect("an instant", 'use ISO 8601 with a zone, e.g. "2026-11-22T13:35:00Z"') })
    .refine((t) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})$/.test(t) && !Number.isNaN(Date.parse(t)), {
        error: (issue) => `${show(issue.input)} is not an instant (use ISO 8601 with a zone, e.g. "2026-11-22T13:35:00Z")`,
    });

/** A bounded wait for a lock, in seconds. */
export const lockWait = z
    .number({ error: expect("a number of seconds", "use a whole number from 0 to 3600") })
    .refine((n) => Number.isInteger(n) && n >= 0 && n <= 3600, {
        error: (issue) => `${show(issue.input)} is not a number of seconds (use a whole number from 0 to 3600)`,
    })
    .default(0);

/** Line breaks and the other control characters (C0 and DEL): never part of a one-line value. */
export const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * `schema` (a string) as one line of plain text, at most `max` characters: free text ends up in
 * messages, SQL parameters and files, where a line break could forge lines of its own.
 */
export function plainText(schema: z.ZodString, max = 200) {
    return schema
        .refine((s) => !CONTROL.test(s), { error: (issue) => `${show(issue.input)} holds a line break or control character (use one line of plain text)` })
        .refine((s) => s.length <= max, { error: (issue) => `is ${(issue.input as string).length} characters long (use at most ${max})` });
}

/** A stack name as Pulumi writes it: `stack`, `project/stack` or `organization/project/stack`. */
export const stackName = (example: string) =>
    z
        .string({ error: expect("a stack name", `use e.g. "${example}"`) })
        .min(1, { error: `is empty (use e.g. "${example}")` })
        .refine((s) => s === "" || /^[A-Za-z0-9_.-]{1,100}(\/[A-Za-z0-9_.-]{1,100}){0,2}$/.test(s), {
            error: (issue) => `${show(issue.input)} is not a stack name (use e.g. "${example}")`,
        });

// Never echo what was received for a secret.
export const secret = z.string({ error: "is not a text value (set it with: pulumi config set --secret <key> <value>)" });

/** A password: a secret on one line (initdb and libpq password files read the first line only). */
export const password = secret.refine((s) => !CONTROL.test(s), {
    error: "holds a line break or control character (a password is one line; set it again with: pulumi config set --secret <key> <value>)",
});
