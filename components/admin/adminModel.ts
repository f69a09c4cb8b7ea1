// The engine's admin-provided objects — process definitions (with their recovery level) and
// triggers — as a small declared model (admin/objects.json), validated, with content hashes that
// let production check that exactly this set was applied and verified on test. No Pulumi here.
import * as crypto from "crypto";
import * as fs from "fs";
import { z } from "zod";

export const RECOVERY_LEVELS = ["none", "process", "full"] as const;

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

const processSchema = z.strictObject({
    /** Bumped with every change of the definition. */
    version: z.number().int().min(1),
    /** none: instances end as terminated on failure; process: restart from their start; full: resume where they were. */
    recoveryLevel: z.enum(RECOVERY_LEVELS),
    steps: z.array(z.string().min(1)).min(1),
});

const triggerSchema = z.strictObject({
    process: z.string().regex(NAME),
    /** cron expression */
    schedule: z.string().min(1),
});

export const adminModelSchema = z
    .strictObject({
        processes: z.record(z.string().regex(NAME), processSchema).default({}),
        triggers: z.record(z.string().regex(NAME), triggerSchema).default({}),
    })
    .superRefine((model, ctx) => {
        for (const [name, trigger] of Object.entries(model.triggers)) {
            if (!(trigger.process in model.processes)) {
                ctx.addIssue({ code: "custom", path: ["triggers", name, "process"], message: `names no declared process ("${trigger.process}")` });
            }
        }
    });

export type AdminModel = z.output<typeof adminModelSchema>;
export type AdminObjectKind = "process" | "trigger";

export interface AdminObject {
    kind: AdminObjectKind;
    name: string;
    definition: Record<string, unknown>;
    /** sha256 of the canonical definition. */
    hash: string;
}

/** JSON with object keys sorted, so equal definitions hash equally. */
export function canonicalJson(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(canonicalJson).join(",")}]`;
    }
    if (value !== null && typeof value === "object") {
        const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
    }
    return JSON.stringify(value);
}

export function hashDefinition(definition: unknown): string {
    return crypto.createHash("sha256").update(canonicalJson(definition)).digest("hex");
}

/** The objects of a model, processes before triggers, each sorted by name. */
export function adminObjects(model: AdminModel): AdminObject[] {
    const of = (kind: AdminObjectKind, entries: [string, Record<string, unknown>][]) =>
        entries
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([name, definition]) => ({ kind, name, definition, hash: hashDefinition(definition) }));
    return [...of("process", Object.entries(model.processes)), ...of("trigger", Object.entries(model.triggers))];
}

/** Hash of a whole set: what production compares with test's verified set. */
export function setHash(objects: { kind: string; name: string; hash: string }[]): string {
    const lines = objects.map((o) => `${o.kind}/${o.name}:${o.hash}`).sort();
    return crypto.createHash("sha256").update(lines.join("\n")).digest("hex");
}

/**
 * Reads and validates the model file; throws one message listing every problem, naming the file as
 * `name` (e.g. its path in the project). A file that is not JSON is reported by position only: the
 * parser's own message quotes the file's text.
 */
export function loadAdminModel(file: string, name = file): AdminModel {
    const text = fs.readFileSync(file, "utf8");
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch {
        const at = jsonErrorPosition(text);
        throw new Error(`${name} is not valid JSON${at ? ` (line ${at.line}, column ${at.column})` : ""}`);
    }
    const parsed = adminModelSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
        const problems = parsed.error.issues.map((i) => `  - ${i.path.join(".")}: ${i.message}`);
        throw new Error(`${name} has ${problems.length} problem(s):\n${problems.join("\n")}`);
    }
    return parsed.data;
}

/** Where `text` stops being JSON (1-based line and column), or undefined when it is JSON (or nests too deep to tell). */
export function jsonErrorPosition(text: string): { line: number; column: number } | undefined {
    let i = 0;
    const fail = (): never => {
        throw new JsonSyntaxError(i);
    };
    const space = () => {
        while (i < text.length && " \t\n\r".includes(text[i])) i++;
    };
    const token = (pattern: RegExp) => {
        pattern.lastIndex = i;
        const match = pattern.exec(text);
        if (match === null) fail();
        i = pattern.lastIndex;
    };
    const value = (): void => {
        space();
        const c = text[i];
        if (c === "{" || c === "[") {
            const close = c === "{" ? "}" : "]";
            i++;
            space();
            if (text[i] === close) {
                i++;
                return;
            }
            for (;;) {
                if (c === "{") {
                    space();
                    token(STRING);
                    space();
                    if (text[i] !== ":") fail();
                    i++;
                }
                value();
                space();
                if (text[i] === ",") {
                    i++;
                } else if (text[i] === close) {
                    i++;
                    return;
                } else {
                    fail();
                }
            }
        }
        token(c === '"' ? STRING : c === "t" || c === "f" || c === "n" ? LITERAL : NUMBER);
    };
    try {
        value();
        space();
        if (i < text.length) fail();
        return undefined;
    } catch (err) {
        if (!(err instanceof JsonSyntaxError)) {
            return undefined;
        }
        const before = text.slice(0, err.offset);
        const line = before.split("\n").length;
        return { line, column: err.offset - (before.lastIndexOf("\n") + 1) + 1 };
    }
}

class JsonSyntaxError {
    constructor(readonly offset: number) {}
}
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const LITERAL = /true|false|null/y;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export interface PromotionState {
    hash: string;
    verified: boolean;
    objects: Record<string, string>;
}

/**
 * What production may apply, given the set test verified: undefined when they agree, else the
 * message naming what test lacks (or has differently).
 */
export function promotionProblem(declared: AdminObject[], onTest: PromotionState | undefined, testStack: string): string | undefined {
    const hash = setHash(declared);
    if (onTest !== undefined && onTest.verified && onTest.hash === hash) {
        return undefined;
    }
    const key = (o: AdminObject) => `${o.kind}/${o.name}`;
    const testObjects = onTest?.objects ?? {};
    const missing = declared.filter((o) => testObjects[key(o)] !== o.hash).map((o) => `${key(o)} (${testObjects[key(o)] ? "different on test" : "not on test"})`);
    const extra = Object.keys(testObjects).filter((k) => !declared.some((o) => key(o) === k)).map((k) => `${k} (only on test)`);
    const what = onTest === undefined ? "has no verified admin objects" : onTest.verified ? "verified another set" : "has not verified its set";
    return (
        `production refuses admin objects ${hash.slice(0, 12)}: the test stage (${testStack}) ${what}` +
        (missing.length + extra.length > 0 ? `; differences: ${[...missing, ...extra].join(", ")}` : "") +
        ". Apply them on test first (pulumi up --stack test), then on production."
    );
}
