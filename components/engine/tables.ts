// Names of the engine's tables as users write them ("Server.Server") and as SQL needs them.

export interface QualifiedName {
    schema: string;
    table: string;
}

const PART = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** "HostServer.LicenseKey" → { schema: "HostServer", table: "LicenseKey" }, or undefined when malformed. */
export function parseQualifiedName(text: string): QualifiedName | undefined {
    const parts = text.split(".");
    if (parts.length !== 2 || !parts.every((p) => PART.test(p))) {
        return undefined;
    }
    return { schema: parts[0], table: parts[1] };
}

/** An identifier quoted for SQL, keeping its case: LicenseKey → "LicenseKey". */
export function quoteIdent(name: string): string {
    return `"${name.replace(/"/g, '""')}"`;
}

/** `"Schema"."Table"` for SQL. */
export function sqlName(name: QualifiedName): string {
    return `${quoteIdent(name.schema)}.${quoteIdent(name.table)}`;
}
