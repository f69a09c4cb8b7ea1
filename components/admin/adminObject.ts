// AdminObject: one of the engine's admin-provided objects (a process definition or a trigger) as a
// row of the work-management database, applied and read back so every object is verified.
import { hashDefinition } from "./adminModel";
import { withClient } from "../postgres/pg";
import { UNKNOWN } from "../providers/diffs";
import { ArgsOf, CrudMethods, declaredClass, defineResource } from "../providers/kit";

/** Bumped whenever this provider's behaviour changes, so the change shows in `pulumi preview --diff`. */
const PROVIDER_VERSION = "1";

export interface AdminObjectArgs extends ArgsOf<AdminObjectInputs> {}

export interface AdminObjectInputs {
    /** libpq URL of the stage's work-management database (a secret). */
    connection: string;
    kind: "process" | "trigger";
    name: string;
    /** The declared definition. */
    definition: Record<string, unknown>;
    /** sha256 of the canonical definition (components/admin/adminModel.ts). */
    hash: string;
    providerVersion: string;
}

export interface AdminObjectOutputs extends AdminObjectInputs {
    /** Hash of the definition as read back from the database. */
    appliedHash: string;
    verified: boolean;
}

async function apply(inputs: AdminObjectInputs): Promise<AdminObjectOutputs> {
    return withClient(inputs.connection, async (client) => {
        const def = inputs.definition;
        if (inputs.kind === "process") {
            await client.query(
                `INSERT INTO "Work"."ProcessDefinition" ("Name", "Version", "RecoveryLevel", "Definition") VALUES ($1, $2, $3, $4)
                 ON CONFLICT ("Name") DO UPDATE SET "Version" = EXCLUDED."Version", "RecoveryLevel" = EXCLUDED."RecoveryLevel", "Definition" = EXCLUDED."Definition"`,
                [inputs.name, def.version, def.recoveryLevel, JSON.stringify(def)],
            );
        } else {
            await client.query(
                `INSERT INTO "Work"."Trigger" ("Name", "Process", "Definition") VALUES ($1, $2, $3)
                 ON CONFLICT ("Name") DO UPDATE SET "Process" = EXCLUDED."Process", "Definition" = EXCLUDED."Definition"`,
                [inputs.name, def.process, JSON.stringify(def)],
            );
        }
        const appliedHash = await readBack(client, inputs.kind, inputs.name);
        if (appliedHash !== inputs.hash) {
            throw new Error(`${inputs.kind} ${inputs.name} reads back differently from what was applied (${appliedHash} != ${inputs.hash})`);
        }
        return { ...inputs, appliedHash, verified: true };
    });
}

async function readBack(client: import("pg").Client, kind: string, name: string): Promise<string | undefined> {
    const table = kind === "process" ? '"Work"."ProcessDefinition"' : '"Work"."Trigger"';
    const { rows } = await client.query(`SELECT "Definition" AS d FROM ${table} WHERE "Name" = $1`, [name]);
    return rows[0] ? hashDefinition(rows[0].d) : undefined;
}

const adminObjectMethods: CrudMethods<AdminObjectInputs, AdminObjectOutputs> = {
    async create(inputs) {
        return { id: `${inputs.kind}/${inputs.name}`, outs: await apply(inputs) };
    },
    async read(id, props) {
        if (props === undefined) {
            return {};
        }
        let live: string | undefined;
        try {
            live = await withClient(props.connection, (c) => readBack(c, props.kind, props.name));
        } catch {
            return { id, props }; // the server cannot be reached: it reports that itself; keep what we know
        }
        return live === undefined ? {} : { id, props: { ...props, appliedHash: live, verified: live === props.hash } };
    },
    async update(_id, _olds, news) {
        return { outs: await apply(news) };
    },
    async delete(_id, props) {
        await withClient(props.connection, async (client) => {
            const table = props.kind === "process" ? '"Work"."ProcessDefinition"' : '"Work"."Trigger"';
            try {
                await client.query(`DELETE FROM ${table} WHERE "Name" = $1`, [props.name]);
            } catch (err) {
                if ((err as { code?: string }).code === "23503") {
                    throw new Error(`${props.kind} ${props.name} still has process instances or triggers; finish or remove them before deleting it`);
                }
                throw err;
            }
        });
    },
};

export const adminObject = defineResource<AdminObjectInputs, AdminObjectOutputs>(
    {
        module: "stagewise", type: "AdminObject", version: PROVIDER_VERSION,
        replaces: ["connection", "kind", "name"],
        updates: ["hash"],
        // A row changed behind our back shows as drift on the next preview (when it can be read: a
        // stopped server is reported by the server itself).
        diffRules: async (olds, news) => {
            const connection = news.connection === UNKNOWN ? olds.connection : news.connection;
            const live = await withClient(connection, (c) => readBack(c, news.kind, news.name)).catch(() => news.hash);
            return { changed: live === news.hash ? [] : ["appliedHash"] };
        },
        secretInputs: ["connection"],
        outputs: ["appliedHash", "verified"],
    },
    adminObjectMethods,
);

/** One admin object applied to a stage's work-management database and verified by reading it back. */
export class AdminObject extends declaredClass<AdminObjectArgs, AdminObjectOutputs, "kind" | "name" | "hash" | "appliedHash" | "verified">(adminObject) {}
