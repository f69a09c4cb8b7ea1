// The provider kit itself: the caller's options are kept, secrets wrapped, placeholders never refused;
// and every provider, serialized as Pulumi serializes it, loads again and checks and diffs as before.
import * as childProcess from "child_process";
import * as path from "path";
import { z } from "zod";
import { UNKNOWN } from "../../../components/providers/diffs";
import { absolutePath, defineResource, schemaFailures } from "../../../components/providers/kit";

const REPO_ROOT = path.join(__dirname, "../../..");

interface Folder {
    path: string;
    note?: string;
    providerVersion: string;
}
const folder = defineResource<Folder, Folder & { seen: boolean }>(
    { module: "stagewise", type: "Folder", version: "7", schema: (zod) => zod.looseObject({ path: absolutePath(zod) }), secretInputs: ["note"], secretOutputs: ["seen"], outputs: ["note", "seen"] },
    { async create(inputs) { return { id: inputs.path, outs: { ...inputs, seen: true } }; } },
);

test("secret outputs are added to the caller's additionalSecretOutputs, which are kept with its other options", () => {
    expect(folder.optionsOf({ protect: true, additionalSecretOutputs: ["path"] })).toEqual({ protect: true, additionalSecretOutputs: ["path", "seen"] });
    expect(folder.optionsOf({ additionalSecretOutputs: ["seen"] })).toEqual({ additionalSecretOutputs: ["seen"] });
    expect(folder.optionsOf(undefined)).toEqual({ additionalSecretOutputs: ["seen"] });
});

test("props: the outputs present, the provider version, given secret inputs wrapped and missing ones left out", () => {
    expect(folder.propsOf({ path: "/srv" })).toEqual({ path: "/srv", note: undefined, seen: undefined, providerVersion: "7" });
    expect((folder.propsOf({ path: "/srv", note: "n" }) as { note: unknown }).note).toMatchObject({ isSecret: expect.anything() });
});

test.each<[string, object, { property: string; reason: string }[]]>([
    ["a wrong value", { path: "srv" }, [{ property: "path", reason: '"srv" is not an absolute path' }]],
    ["a placeholder", { path: UNKNOWN }, []],
    ["a value inside a placeholder", { nested: UNKNOWN }, []],
])("schema failures for %s", (_name, inputs, failures) => {
    const schema = z.looseObject({ path: absolutePath(z).optional(), nested: z.looseObject({ inner: absolutePath(z) }).optional() });
    expect(schemaFailures(schema, inputs)).toEqual(failures);
});

const PROVIDERS: [string, string][] = [
    ["server/postgresServer", "postgresServerProvider"],
    ["server/dataRoot", "dataRootProvider"],
    ["standby/hot/hotStandby", "hotStandbyProvider"],
    ["standby/hot/primaryRole", "primaryRoleProvider"],
    ["standby/warm/warmStandby", "warmStandbyProvider"],
    ["shipping/logShippingJob", "logShippingJobProvider"],
    ["shipping/walArchive", "walArchiveProvider"],
    ["copy/databaseCopy", "databaseCopyProvider"],
    ["locks/lockResources", "administrativeLockProvider"],
    ["locks/lockResources", "lockBindingProvider"],
    ["locks/lockResources", "bindingRegistryProvider"],
    ["admin/adminObject", "adminObjectProvider"],
    ["engine/engineUnit", "engineUnitProvider"],
    ["engine/enginePrimary", "enginePrimaryProvider"],
    ["backup/backupPlan", "backupPlanProvider"],
    ["backup/backupPlan", "restoreProvider"],
    ["backup/baseBackups", "baseBackupsProvider"],
    ["dr/drServer", "drServerProvider"],
    ["dr/drShipping", "drShippingProvider"],
    ["dr/licenseReapplication", "licenseReapplicationProvider"],
];

test("every provider serializes as Pulumi does, and the loaded copy checks and diffs", () => {
    // In a fresh node: jest cannot run the SDK's closure serializer.
    const script = `
        require("./runtime/typescript").register();
        const pulumi = require("@pulumi/pulumi");
        const load = async (file, name) => {
            const serialized = await pulumi.runtime.serializeFunction(() => require("./components/" + file + ".ts")[name], { allowSecrets: true });
            return require("require-from-string")(serialized.text).handler();
        };
        (async () => {
            const loaded = {};
            for (const [file, name] of ${JSON.stringify(PROVIDERS)}) {
                const p = await load(file, name);
                loaded[name] = ["check", "diff", "create", "read", "update", "delete"].filter((m) => typeof p[m] === "function");
            }
            const server = await load("server/postgresServer", "postgresServerProvider");
            const lock = await load("locks/lockResources", "administrativeLockProvider");
            const role = await load("standby/hot/primaryRole", "primaryRoleProvider");
            const lockInputs = { connection: "c", scope: "copy", holder: "p/t", stage: "test", reason: "r", providerVersion: "1" };
            console.log(JSON.stringify({
                loaded,
                serverCheck: (await server.check({}, { binDir: "bin", serverDir: "/srv/db", port: 80, providerVersion: "4" })).failures,
                lockCheck: (await lock.check({}, { ...lockInputs, scope: "${UNKNOWN}", waitSeconds: -1 })).failures,
                lockDiff: await lock.diff("id", lockInputs, { ...lockInputs, holder: "p/d" }),
                roleDiff: await role.diff("id", { declared: "a", members: [], synchronous: [], primary: "a", providerVersion: "1" }, { declared: "a", members: [], synchronous: [], providerVersion: "2" }),
            }));
        })().catch((err) => { console.error(err); process.exit(1); });
    `;
    const result = JSON.parse(childProcess.execFileSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8" }));
    const crud = (...methods: string[]) => ["check", "diff", ...methods];
    expect(result).toEqual({
        loaded: {
            postgresServerProvider: crud("create", "read", "update", "delete"),
            dataRootProvider: crud("create", "read", "update", "delete"),
            hotStandbyProvider: crud("create", "read", "update", "delete"),
            primaryRoleProvider: crud("create", "read", "update", "delete"),
            warmStandbyProvider: crud("create", "read", "update", "delete"),
            logShippingJobProvider: crud("create", "read", "update", "delete"),
            walArchiveProvider: crud("create", "read", "update", "delete"),
            databaseCopyProvider: crud("create", "update", "delete"),
            administrativeLockProvider: crud("create", "read", "update", "delete"),
            lockBindingProvider: crud("create", "read", "update", "delete"),
            bindingRegistryProvider: crud("create", "read", "update"),
            adminObjectProvider: crud("create", "read", "update", "delete"),
            engineUnitProvider: crud("create", "read", "update", "delete"),
            enginePrimaryProvider: crud("create", "read", "update", "delete"),
            backupPlanProvider: crud("create", "read", "update", "delete"),
            restoreProvider: crud("create", "update", "delete"),
            baseBackupsProvider: crud("create", "read", "update", "delete"),
            drServerProvider: crud("create", "read", "update", "delete"),
            drShippingProvider: crud("create", "read", "update", "delete"),
            licenseReapplicationProvider: crud("create", "update"),
        },
        serverCheck: [
            { property: "binDir", reason: '"bin" is not an absolute path' },
            { property: "port", reason: "80 is not a port from 1024 to 65535" },
        ],
        lockCheck: [{ property: "waitSeconds", reason: "-1 is not a whole number of seconds from 0 to 3600" }],
        lockDiff: { changes: true, replaces: ["holder"], deleteBeforeReplace: true },
        roleDiff: { changes: true, replaces: [], deleteBeforeReplace: false },
    });
}, 120_000);
