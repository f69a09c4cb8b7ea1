// The PrimaryRole provider's check and diff: the declared member must be one, and a declared primary
// that is not the acting one is a change (also after a failed role change).
import { primaryRole } from "../../../components/standby/hot/primaryRole";
import { providerTable } from "./providerTables";

const member = (name: string, port: number) => ({ name, host: "127.0.0.1", port, serverDir: `/nonexistent/stagewise-unit/${name}` });

describe("PrimaryRole", () => {
    providerTable(primaryRole, {
        inputs: {
            declared: "prod-db",
            members: [member("prod-db", 15432), member("prod-hot", 15433)],
            synchronous: ["prod-hot"],
            binDir: "/usr/lib/postgresql/15/bin",
            superuserPassword: "su",
            providerVersion: "1",
        },
        outputs: { primary: "prod-db", lastChange: null, replication: {} },
        defaults: { synchronous: [] },
        bad: [["a declared primary that is no member", { declared: "prod-dr" }, [{ property: "declared", reason: '"prod-dr" is not a member (members: prod-db, prod-hot)' }]]],
        replacing: [],
        inPlace: [
            ["another declared primary", { declared: "prod-hot" }, ["declared"]],
            ["another member list", { members: [member("prod-db", 15432)] }, ["members"]],
            ["no synchronous standby", { synchronous: [] }, ["synchronous"]],
            ["a new password", { superuserPassword: "su2" }, ["superuserPassword"]],
        ],
        placeholders: ["declared", "members", "superuserPassword"],
    });

    test("a placeholder for the members refuses nothing", async () => {
        const { UNKNOWN } = await import("../../../components/providers/diffs");
        expect((await primaryRole.provider.check!({} as never, { declared: "prod-db", members: UNKNOWN, binDir: "/b", superuserPassword: "su", providerVersion: "1" } as never)).failures).toEqual([]);
    });

    test("diff: a declared primary that is not the acting one (a failed role change) is a change", async () => {
        const inputs = { declared: "prod-hot", members: [member("prod-db", 15432), member("prod-hot", 15433)], synchronous: [], binDir: "/b", superuserPassword: "su", providerVersion: "1" };
        expect(await primaryRole.provider.diff!("id", { ...inputs, primary: "prod-db", lastChange: null, replication: {} }, inputs)).toEqual({ changes: true, replaces: [], deleteBeforeReplace: false });
    });
});
