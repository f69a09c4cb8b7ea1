// LicenseReapplication: a site's own rows of its identity tables (the runbook's Server.Server and
// HostServer.LicenseKey), recorded while they are right and re-applied after a restore, copy or
// cutover has replaced them with another site's. The recorded rows are Pulumi secrets.
import * as identityRows from "../engine/identityRows";
import { withClient } from "../postgres/pg";
import { sameData } from "../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "2"; // 2: identity and generated columns survive a re-application

export type { IdentityTable } from "../engine/identityRows";
type IdentityTable = identityRows.IdentityTable;

export interface LicenseReapplicationArgs extends ArgsOf<ReapplyInputs> {}

export interface ReapplyInputs {
    /** libpq URL of the site's configuration database (a secret). */
    connection: string;
    /** The tables whose rows are this site's own. */
    tables: IdentityTable[];
    /** Change it to put the recorded rows back. */
    reapply: string;
    /**
     * The site's own rows given up front, by "Schema.Table" (a secret), instead of recorded from the
     * database: for a DR site whose database only arrives at cutover. They are applied at once on create.
     * @default recorded from the database on create
     */
    rows?: Record<string, Record<string, unknown>[]>;
    providerVersion: string;
}

export interface ReapplyOutputs extends ReapplyInputs {
    /** The recorded rows, by "Schema.Table" (a secret). */
    rows: Record<string, Record<string, unknown>[]>;
    recordedAt: string;
    /** When the rows were last put back, and how many ("" and 0 before the first time). */
    reappliedAt: string;
    rowsReapplied: number;
}

async function record(inputs: ReapplyInputs): Promise<ReapplyOutputs["rows"]> {
    return withClient(inputs.connection, (client) => identityRows.readIdentityRows(client, inputs.tables));
}

/** Replaces the tables' rows with the recorded ones, all tables in one transaction. */
async function reapply(inputs: ReapplyInputs, rows: ReapplyOutputs["rows"]): Promise<number> {
    try {
        return await withClient(inputs.connection, (client) => identityRows.replaceIdentityRows(client, inputs.tables, rows));
    } catch (err) {
        throw new Error(`re-applying this site's identity rows failed, nothing was changed: ${(err as Error).message}`);
    }
}

const licenseReapplicationMethods: CrudMethods<ReapplyInputs, ReapplyOutputs> = {
    async create(inputs) {
        if (inputs.rows) {
            // Given rows replace whatever the database holds now (another site's, after a cutover).
            const rowsReapplied = await reapply(inputs, inputs.rows);
            const now = new Date().toISOString();
            return { id: "identity", outs: { ...inputs, rows: inputs.rows, recordedAt: now, reappliedAt: now, rowsReapplied } };
        }
        const rows = await record(inputs);
        return { id: "identity", outs: { ...inputs, rows, recordedAt: new Date().toISOString(), reappliedAt: "", rowsReapplied: 0 } };
    },
    async update(_id, olds, news) {
        const givenRowsChanged = news.rows !== undefined && !sameData(olds.rows, news.rows);
        if (olds.reapply === news.reapply && !givenRowsChanged) {
            return { outs: { ...olds, ...news } };
        }
        const rows = news.rows ?? olds.rows;
        const rowsReapplied = await reapply(news, rows);
        return { outs: { ...olds, ...news, rows, reappliedAt: new Date().toISOString(), rowsReapplied } };
    },
};

export const licenseReapplication = defineResource<ReapplyInputs, ReapplyOutputs>(
    {
        module: "stagewise", type: "LicenseReapplication", version: PROVIDER_VERSION,
        replaces: ["connection", "tables"], // other tables: record anew
        updates: ["reapply"],
        whenGiven: ["rows"], // given rows changed: apply them
        secretInputs: ["connection", "rows"],
        secretOutputs: ["rows"],
        outputs: ["rows", "recordedAt", "reappliedAt", "rowsReapplied"],
    },
    licenseReapplicationMethods,
);

/** This site's own identity rows, recorded once and put back whenever `reapply` changes. */
export class LicenseReapplication extends declaredClass<LicenseReapplicationArgs, ReapplyOutputs, "recordedAt" | "reappliedAt" | "rowsReapplied">(licenseReapplication) {}
