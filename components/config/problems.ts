// Turns raw stack configuration into a validated StageConfig, or into the full list of problems,
// each prefixed with its path in the user's own keys.
import { CheckContext, CROSS_CHECKS, PathProblem } from "./crossChecks";
import { SECRET_KEYS, StageConfig, stageConfigSchema } from "./schema";

export const NAMESPACE = "stagewise";

export type ParseResult = { ok: true; config: StageConfig } | { ok: false; problems: string[] };

/** Dotted path as the user writes it with `pulumi config set --path`, e.g. `servers.main.port`. */
function pathOf(path: PropertyKey[]): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

/**
 * Validates the stack's configuration.
 * @param raw every configuration value of the stack, by full key (`stagewise:servers`), as Pulumi hands them
 *   to the program: plain text, with structured values as JSON text.
 * @param secretKeys the full keys whose values are Pulumi secrets.
 * @param context the stack being checked and the time, for the rules that need them.
 */
export function parseStageConfig(raw: Record<string, string>, secretKeys: ReadonlySet<string>, context: CheckContext = {}): ParseResult {
    const problems: string[] = [];
    const values: Record<string, unknown> = {};
    const undecodable = new Set<string>();
    for (const [fullKey, text] of Object.entries(raw)) {
        const [namespace, key] = fullKey.split(":", 2);
        if (namespace !== NAMESPACE || key === undefined) {
            continue; // other namespaces belong to Pulumi and the providers
        }
        const value = decode(text);
        if (value === UNDECODABLE) {
            problems.push(`${key}: is not a valid map or list (check the YAML in the stack's config file)`);
            undecodable.add(key);
        } else {
            values[key] = value;
        }
    }
    for (const key of SECRET_KEYS) {
        if (values[key] !== undefined && !secretKeys.has(`${NAMESPACE}:${key}`)) {
            problems.push(
                `${key}: is given in plain text but must be a secret (set it with: pulumi config set --secret ${key} <value>)`,
            );
        }
    }
    // The hosts' private keys: the whole key is a secret once one of them is set with --secret.
    const holdsKeys = typeof values.hosts === "object" && values.hosts !== null && Object.values(values.hosts).some((h) => typeof h === "object" && h !== null && "privateKey" in h);
    if (holdsKeys && !secretKeys.has(`${NAMESPACE}:hosts`)) {
        problems.push("hosts: holds private keys in plain text (set each with: pulumi config set --secret --path hosts.<name>.privateKey < <key file>)");
    }
    return judged(problems, values, undecodable, context);
}

/**
 * Validates a configuration given as a plain object (what a program passes to a component, `stage`
 * included), with the same problems and messages as the stack's configuration. The plain-text check
 * of secrets is the stack's own: a program's values never pass through a stack file.
 */
export function checkStageConfig(values: Record<string, unknown>, context: CheckContext = {}): ParseResult {
    return judged([], values, new Set(), context);
}

/** The problems found before (`earlier`), then each field's own, then those across fields, each with its path. */
function judged(earlier: string[], values: Record<string, unknown>, undecodable: ReadonlySet<string>, context: CheckContext): ParseResult {
    const problems = [...earlier];
    const parsed = stageConfigSchema.safeParse(values, { reportInput: true });
    if (!parsed.success) {
        for (const issue of parsed.error.issues) {
            if (undecodable.has(String(issue.path[0]))) {
                continue; // already reported as undecodable, not as missing
            }
            if (issue.code === "unrecognized_keys") {
                problems.push(...issue.keys.map((key) => `${pathOf([...issue.path, key])}: ${issue.message}`));
            } else {
                problems.push(`${pathOf(issue.path)}: ${issue.message}`);
            }
        }
    }
    // The checks across fields run on every field that is valid on its own, so one bad field hides nothing else.
    const crossProblems = parsed.success ? crossFieldProblems(parsed.data, context, new Set()) : partialCrossFieldProblems(values, undecodable, context);
    problems.push(...crossProblems.map((p) => `${pathOf(p.path)}: ${p.message}`));
    return problems.length > 0 || !parsed.success ? { ok: false, problems } : { ok: true, config: parsed.data };
}

function crossFieldProblems(config: StageConfig, context: CheckContext, invalid: ReadonlySet<string>): PathProblem[] {
    return CROSS_CHECKS.filter((rule) => rule.needs.every((key) => !invalid.has(key))).flatMap((rule) => {
        if (invalid.size === 0) {
            return rule.check(config, context);
        }
        try {
            return rule.check(config, context);
        } catch {
            return []; // a rule that cannot judge what is left says nothing
        }
    });
}

/** The cross-field problems of a configuration with invalid fields: each field parsed alone, the rules run on the valid ones. */
function partialCrossFieldProblems(values: Record<string, unknown>, undecodable: ReadonlySet<string>, context: CheckContext): PathProblem[] {
    const valid: Record<string, unknown> = {};
    const invalid = new Set<string>(undecodable);
    for (const [key, field] of Object.entries(stageConfigSchema.shape)) {
        const result = (field as { safeParse(v: unknown): { success: boolean; data?: unknown } }).safeParse(values[key]);
        if (result.success && !undecodable.has(key)) {
            valid[key] = result.data;
        } else {
            invalid.add(key);
        }
    }
    return crossFieldProblems(valid as StageConfig, context, invalid);
}

const UNDECODABLE = Symbol("undecodable");

/** Structured values arrive as JSON text; everything else is a plain string. */
function decode(text: string): unknown {
    const trimmed = text.trimStart();
    if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) {
        return text;
    }
    try {
        return JSON.parse(text);
    } catch {
        return UNDECODABLE;
    }
}

/** The whole report as one message, as the program prints it. */
export function formatProblems(stack: string, problems: string[]): string {
    const heading = `Configuration of stack "${stack}" (Pulumi.${stack}.yaml, namespace ${NAMESPACE}) has ${problems.length} problem${problems.length === 1 ? "" : "s"}:`;
    return [heading, ...problems.map((p) => `  - ${p}`)].join("\n");
}

