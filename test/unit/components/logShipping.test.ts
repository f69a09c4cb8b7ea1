// Log shipping and warm standby graph, with Pulumi mocks (no engine, no PostgreSQL started).
import { installMocks, newStage, settled, valueOf } from "../../harness/mocks";

jest.mock("@pulumi/pulumi/runtime/closure/serializeClosure", () => require("../../harness/fakeSerializeClosure"));

const BIN = "/usr/lib/postgresql/15/bin";
const ROOT = "/srv/stagewise-mock";

async function build(config: Record<string, string>) {
    const env = await installMocks("prod", config, [], (type) => (type === "command:local:Command" ? { stdout: "postgres (PostgreSQL) 15.18" } : {}));
    const { loadStageConfig } = await import("../../../components/config/config");
    const { LogShipping } = await import("../../../components/shipping/logShipping");
    const { WarmStandbys, warmStandbyNames } = await import("../../../components/standby/warm/warmStandbys");
    const stageConfig = loadStageConfig();
    const stage = await newStage("prod", stageConfig);
    const shipping = new LogShipping("prod-shipping", { stage, receivers: warmStandbyNames(stage.topology) });
    const warm = new WarmStandbys("prod-warm", { stage, shipping });
    await settled();
    return { env, shipping, warm };
}

test("(mocks) shipping archives production's WAL, ships it to each warm standby, and the standby restores from its incoming folder", async () => {
    const { env, shipping } = await build({
        "stagewise:stage": "production",
        "stagewise:rpo": "1m",
        "stagewise:servers": JSON.stringify({ "prod-db": { port: 55432, settings: { work_mem: "16MB" } } }),
        "stagewise:platform": JSON.stringify({ kind: "local", binDir: BIN, dataRoot: ROOT }),
        "stagewise:shipping": JSON.stringify({ logBackupInterval: "5s", shipInterval: "1s", applyDelay: "0s" }),
        "stagewise:standbys": JSON.stringify({ dr: { tier: "warm", port: 55433, applyDelay: "30s", settings: { work_mem: "8MB" } } }),
    });
    expect(env.resources.map((r) => `${r.type}::${r.name}`).filter((n) => /WalArchive|LogShipping|WarmStandby/.test(n)).sort()).toEqual([
        "pulumi-nodejs:dynamic/stagewise:LogShippingJob::prod-shipping-job",
        "pulumi-nodejs:dynamic/stagewise:WalArchive::prod-wal-archive",
        "pulumi-nodejs:dynamic/stagewise:WarmStandby::prod-warm-dr",
        "stagewise:standby:LogShipping::prod-shipping",
        "stagewise:standby:WarmStandbys::prod-warm",
    ]);
    const archive = `${ROOT}/wal-archive`;
    expect(env.get("pulumi-nodejs:dynamic/stagewise:WalArchive", "prod-wal-archive").inputs).toMatchObject({ path: archive, retain: false });
    // The schedule's archiving (archive_* in settings is refused: shipping sets it) and the user's own settings.
    expect(env.get("pulumi-nodejs:dynamic/stagewise:PostgresServer", "prod-prod-db").inputs.settings).toEqual({
        work_mem: "16MB",
        archive_mode: "on",
        archive_timeout: "5s",
        archive_command: `if test -f ${archive}/%f; then cmp -s %p ${archive}/%f; else cp %p ${archive}/.%f.part && mv ${archive}/.%f.part ${archive}/%f; fi`,
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:LogShippingJob", "prod-shipping-job").inputs).toMatchObject({
        archive,
        receiversDir: `${ROOT}/shipping`,
        receivers: ["dr"],
        shipIntervalMs: 1000,
    });
    expect(env.get("pulumi-nodejs:dynamic/stagewise:WarmStandby", "prod-warm-dr").inputs).toMatchObject({
        standbyName: "dr",
        serverDir: `${ROOT}/dr`,
        port: 55433,
        settings: {
            restore_command: `test -f ${ROOT}/shipping/dr/incoming/%f && cp ${ROOT}/shipping/dr/incoming/%f %p`,
            recovery_min_apply_delay: "30s",
            wal_retrieve_retry_interval: "1s",
            archive_cleanup_command: `${BIN}/pg_archivecleanup -n -x .partial ${ROOT}/shipping/dr/incoming %r | xargs -r mv -t ${ROOT}/shipping/dr/applied`,
            work_mem: "8MB",
        },
    });
    expect(await valueOf(shipping.state)).toMatchObject({
        archive,
        worstCaseLoss: "6s",
        worstCaseLossSeconds: 6,
        arithmetic: "worst-case data loss = log backup interval + shipping interval = 5s + 1s = 6s <= 1m (rpo)",
    });
});
