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

// Each resource definition, whose provider object Pulumi serializes.
const PROVIDERS: [string, string][] = [
    ["server/postgresServer", "postgresServer"],
    ["server/dataRoot", "dataRoot"],
    ["standby/hot/hotStandby", "hotStandby"],
    ["standby/hot/primaryRole", "primaryRole"],
    ["standby/warm/warmStandby", "warmStandby"],
    ["shipping/logShippingJob", "logShippingJob"],
    ["shipping/walArchive", "walArchive"],
    ["copy/databaseCopy", "databaseCopy"],
    ["locks/lockResources", "administrativeLock"],
    ["locks/lockResources", "lockBinding"],
    ["locks/lockResources", "bindingRegistry"],
    ["admin/adminObject", "adminObject"],
    ["engine/engineUnit", "engineUnit"],
    ["engine/enginePrimary", "enginePrimary"],
    ["backup/backupPlan", "backupPlan"],
    ["backup/backupPlan", "restoreDefinition"],
    ["backup/baseBackups", "baseBackups"],
    ["dr/drServer", "drServer"],
    ["dr/drShipping", "drShipping"],
    ["dr/licenseReapplication", "licenseReapplication"],
];

test("every provider serializes as Pulumi does, and the loaded copy checks and diffs", () => {
    // In a fresh node: jest cannot run the SDK's closure serializer.
    const script = `
        require("./runtime/typescript").register();
        const pulumi = require("@pulumi/pulumi");
        const load = async (file, name) => {
            const serialized = await pulumi.runtime.serializeFunction(() => require("./components/" + file + ".ts")[name].provider, { allowSecrets: true });
            return require("require-from-string")(serialized.text).handler();
        };
        (async () => {
            const loaded = {};
            for (const [file, name] of ${JSON.stringify(PROVIDERS)}) {
                const p = await load(file, name);
                loaded[name] = ["check", "diff", "create", "read", "update", "delete"].filter((m) => typeof p[m] === "function");
            }
            const server = await load("server/postgresServer", "postgresServer");
            const lock = await load("locks/lockResources", "administrativeLock");
            const role = await load("standby/hot/primaryRole", "primaryRole");
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
            postgresServer: crud("create", "read", "update", "delete"),
            dataRoot: crud("create", "read", "update", "delete"),
            hotStandby: crud("create", "read", "update", "delete"),
            primaryRole: crud("create", "read", "update", "delete"),
            warmStandby: crud("create", "read", "update", "delete"),
            logShippingJob: crud("create", "read", "update", "delete"),
            walArchive: crud("create", "read", "update", "delete"),
            databaseCopy: crud("create", "update", "delete"),
            administrativeLock: crud("create", "read", "update", "delete"),
            lockBinding: crud("create", "read", "update", "delete"),
            bindingRegistry: crud("create", "read", "update"),
            adminObject: crud("create", "read", "update", "delete"),
            engineUnit: crud("create", "read", "update", "delete"),
            enginePrimary: crud("create", "read", "update", "delete"),
            backupPlan: crud("create", "read", "update", "delete"),
            restoreDefinition: crud("create", "update", "delete"),
            baseBackups: crud("create", "read", "update", "delete"),
            drServer: crud("create", "read", "update", "delete"),
            drShipping: crud("create", "read", "update", "delete"),
            licenseReapplication: crud("create", "update"),
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
