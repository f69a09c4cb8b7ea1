// Hot standbys and the declared primary, with Pulumi mocks (no engine, no PostgreSQL started).
import { installMocks, newStage, settled, valueOf } from "../../harness/mocks";

jest.mock("@pulumi/pulumi/runtime/closure/serializeClosure", () => require("../../harness/fakeSerializeClosure"));

const BIN = "/usr/lib/postgresql/15/bin";
const ROOT = "/srv/stagewise-mock";

async function build(extra: Record<string, string>) {
    const env = await installMocks(
        "prod",
        {
            "stagewise:stage": "production",
            "stagewise:servers": JSON.stringify({ "prod-db": { port: 55432 } }),
            "stagewise:platform": JSON.stringify({ kind: "local", binDir: BIN, dataRoot: ROOT }),
            "stagewise:standbys": JSON.stringify({ "prod-hot": { tier: "hot", port: 55433, synchronous: true }, "prod-hot2": { tier: "hot", port: 55434 } }),
            "stagewise:superuserPassword": "su",
            "stagewise:applicationPassword": "app",
            ...extra,
        },
        ["stagewise:superuserPassword", "stagewise:applicationPassword"],
        (type) => (type === "command:local:Command" ? { stdout: "postgres (PostgreSQL) 15.18" } : type.endsWith("PrimaryRole") ? { primary: "prod-hot", lastChange: null } : {}),
    );
    const { loadStageConfig } = await import("../../../components/config/config");
    const { Standbys } = await import("../../../components/standby/hot/hotStandbys");
    const config = loadStageConfig();
    const stage = await newStage("prod", config);
    const standbys = new Standbys("prod", { stage });
    const { writesAfter } = await import("../../../components/server/stage");
    const connectionStrings = writesAfter(stage.connectionStrings, standbys.primaryRole);
    await settled();
    return { env, stage, standbys, connectionStrings };
}

test("(mocks) `primary` names a synchronous standby: one PrimaryRole, every member told its declared role, the primary first in the failover strings", async () => {
    const { env, stage, standbys, connectionStrings } = await build({ "stagewise:primary": "prod-hot" });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:PrimaryRole", "prod-primary").inputs).toMatchObject({
        declared: "prod-hot",
        members: [
            { name: "prod-db", host: "127.0.0.1", port: 55432, serverDir: `${ROOT}/prod-db` },
            { name: "prod-hot", host: "127.0.0.1", port: 55433, serverDir: `${ROOT}/prod-hot` },
            { name: "prod-hot2", host: "127.0.0.1", port: 55434, serverDir: `${ROOT}/prod-hot2` },
        ],
        synchronous: [], // the synchronous standby is the primary now; the server streams asynchronously
        binDir: BIN,
        providerVersion: "1",
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:PostgresServer", "prod-prod-db").inputs).toMatchObject({
        role: "standby",
        upstream: { host: "127.0.0.1", port: 55433 },
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:HotStandby", "prod-prod-hot").inputs).toMatchObject({
        standbyName: "prod-hot",
        role: "primary",
        synchronous: true,
        primary: { value: { host: "127.0.0.1", port: 55433, superuserPassword: "su" } }, // a secret
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:HotStandby", "prod-prod-hot2").inputs).toMatchObject({
        role: "standby",
        synchronous: false,
        primary: { value: { host: "127.0.0.1", port: 55433, superuserPassword: "su" } }, // a secret
    });
    expect(await valueOf(standbys.failoverConnectionStrings!)).toEqual({
        work: "postgresql://engine:app@127.0.0.1:55433,127.0.0.1:55432,127.0.0.1:55434/work?target_session_attrs=read-write",
        business: "postgresql://engine:app@127.0.0.1:55433,127.0.0.1:55432,127.0.0.1:55434/business?target_session_attrs=read-write",
        config: "postgresql://engine:app@127.0.0.1:55433,127.0.0.1:55432,127.0.0.1:55434/config?target_session_attrs=read-write",
    });
    expect(standbys.redirectionRunbook).toBeUndefined();
    // Writes go where the declared primary is.
    expect(stage.databases.work).toEqual({ server: "prod-db", name: "work", host: "127.0.0.1", port: 55433 });
    expect((await valueOf(connectionStrings)).config).toBe("postgresql://engine:app@127.0.0.1:55433/config");
});

test("(mocks) without `primary` the server is the primary and the synchronous standby is listed", async () => {
    const { env } = await build({});
    expect(env.get("pulumi-nodejs:dynamic/stagewise:PrimaryRole", "prod-primary").inputs).toMatchObject({ declared: "prod-db", synchronous: ["prod-hot"] });
    const server = env.get("pulumi-nodejs:dynamic/stagewise:PostgresServer", "prod-prod-db").inputs;
    expect(server.role).toBe("primary");
    expect(server.upstream).toBeUndefined();
    expect(env.get("pulumi-nodejs:dynamic/stagewise:HotStandby", "prod-prod-hot").inputs).toMatchObject({
        role: "standby",
        primary: { value: { host: "127.0.0.1", port: 55432, superuserPassword: "su" } }, // a secret
    });
});

test("(mocks) with shipping, hot standbys carry the primary's archiving settings, so a promoted one archives where the server did", async () => {
    const { env } = await build({ "stagewise:shipping": JSON.stringify({ logBackupInterval: "1h", shipInterval: "1h" }) });
    const archiving = env.get("pulumi-nodejs:dynamic/stagewise:PostgresServer", "prod-prod-db").inputs.settings as Record<string, string>;
    expect(archiving).toMatchObject({ archive_mode: "on", archive_timeout: "3600s" });
    for (const standby of ["prod-prod-hot", "prod-prod-hot2"]) {
        const settings = env.get("pulumi-nodejs:dynamic/stagewise:HotStandby", standby).inputs.settings as Record<string, string>;
        expect(settings).toEqual({ archive_mode: "on", archive_timeout: "3600s", archive_command: archiving.archive_command });
    }
});
