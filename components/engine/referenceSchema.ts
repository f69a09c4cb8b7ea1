// The reference schema of the engine's three databases: work-management (process definitions and
// instances), business data, and configuration (the servers and their licence keys, the tables the
// disaster-recovery runbook re-applies). Idempotent SQL: applying it twice changes nothing.
import { QualifiedName, quoteIdent, sqlName } from "./tables";

/** The engine's databases by role. */
export const DATABASE_ROLES = ["work", "business", "config"] as const;
export type DatabaseRole = (typeof DATABASE_ROLES)[number];

export interface EngineTables {
    /** The servers of a site: one row each, with the name the engine knows it by. */
    server: QualifiedName;
    /** The site's licence keys. */
    licenseKey: QualifiedName;
}

function createSchema(name: QualifiedName): string {
    return `CREATE SCHEMA IF NOT EXISTS ${quoteIdent(name.schema)};`;
}

const WORK = `
CREATE SCHEMA IF NOT EXISTS "Work";
CREATE TABLE IF NOT EXISTS "Work"."ProcessDefinition" (
    "Name"          text PRIMARY KEY,
    "Version"       integer NOT NULL DEFAULT 1,
    -- none: instances end as terminated on failure; process: restart from their start; full: resume.
    "RecoveryLevel" text NOT NULL DEFAULT 'full' CHECK ("RecoveryLevel" IN ('none', 'process', 'full')),
    "Definition"    jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE TABLE IF NOT EXISTS "Work"."Trigger" (
    "Name"       text PRIMARY KEY,
    "Process"    text NOT NULL REFERENCES "Work"."ProcessDefinition" ("Name"),
    "Definition" jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE TABLE IF NOT EXISTS "Work"."ProcessInstance" (
    "Id"        bigserial PRIMARY KEY,
    "Process"   text NOT NULL REFERENCES "Work"."ProcessDefinition" ("Name"),
    "State"     text NOT NULL DEFAULT 'running' CHECK ("State" IN ('running', 'completed', 'terminated')),
    "Step"      integer NOT NULL DEFAULT 0,
    "Data"      jsonb NOT NULL DEFAULT '{}'::jsonb,
    "StartedAt" timestamptz NOT NULL DEFAULT now(),
    "UpdatedAt" timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS "ProcessInstance_State" ON "Work"."ProcessInstance" ("State");
`;

const BUSINESS = `
CREATE SCHEMA IF NOT EXISTS "Business";
CREATE TABLE IF NOT EXISTS "Business"."Document" (
    "Id"        bigserial PRIMARY KEY,
    "Reference" text NOT NULL UNIQUE,
    "Payload"   jsonb NOT NULL DEFAULT '{}'::jsonb,
    "UpdatedAt" timestamptz NOT NULL DEFAULT now()
);
`;

function configSql(tables: EngineTables): string {
    return `
${createSchema(tables.server)}
CREATE TABLE IF NOT EXISTS ${sqlName(tables.server)} (
    "ServerName" text PRIMARY KEY,
    "HostName"   text NOT NULL,
    "Role"       text NOT NULL DEFAULT 'primary',
    "UpdatedAt"  timestamptz NOT NULL DEFAULT now()
);
${createSchema(tables.licenseKey)}
CREATE TABLE IF NOT EXISTS ${sqlName(tables.licenseKey)} (
    "ServerName" text PRIMARY KEY,
    "LicenseKey" text NOT NULL,
    "ValidUntil" date,
    "UpdatedAt"  timestamptz NOT NULL DEFAULT now()
);
`;
}

/** The reference schema's SQL for the database of `role`. */
export function referenceSchemaSql(role: DatabaseRole, tables: EngineTables): string {
    switch (role) {
        case "work":
            return WORK.trim() + "\n";
        case "business":
            return BUSINESS.trim() + "\n";
        case "config":
            return configSql(tables).trim() + "\n";
    }
}
