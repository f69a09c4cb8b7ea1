// Stage component graph, with Pulumi mocks (no engine, no PostgreSQL started).
import * as path from "path";
import { installMocks, valueOf } from "../../harness/mocks";

jest.mock("@pulumi/pulumi/runtime/closure/serializeClosure", () => require("../../harness/fakeSerializeClosure"));

const config = {
    "stagewise:stage": "test",
    "stagewise:servers": JSON.stringify({ "test-db": { port: 55442 } }),
    "stagewise:platform": JSON.stringify({ kind: "local", binDir: "/usr/lib/postgresql/15/bin", dataRoot: "/srv/stagewise-mock" }),
};

test("Stage (mocks) declares its data root and a PostgreSQL check as children, with exact inputs", async () => {
    const env = await installMocks("test", config, [], (type) =>
        type === "command:local:Command" ? { stdout: "postgres (PostgreSQL) 15.18" } : {},
    );
    const { loadStageConfig } = await import("../../../components/config");
    const { Stage } = await import("../../../components/stage");
    const stage = new Stage("test", { config: loadStageConfig(), projectDir: "/project" });
    expect(await valueOf(stage.postgresVersion)).toBe("postgres (PostgreSQL) 15.18"); // registrations are done

    // Registration order depends on when each provider is serialized; the set is what matters.
    expect(env.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual([
        "command:local:Command::test-postgres-version",
        "pulumi-nodejs:dynamic/stagewise:DataRoot::test-data",
        "stagewise:index:Stage::test",
    ]);
    const dataRoot = env.get("pulumi-nodejs:dynamic/stagewise:DataRoot", "test-data");
    expect(dataRoot.inputs).toMatchObject({
        path: path.resolve("/srv/stagewise-mock"),
        owner: "stagewise/test",
        stage: "test",
        providerVersion: "1",
    });
    expect(env.get("command:local:Command", "test-postgres-version").inputs).toEqual({
        create: '"$PG_BINDIR/postgres" --version',
        environment: { PG_BINDIR: "/usr/lib/postgresql/15/bin" },
        triggers: ["/usr/lib/postgresql/15/bin"],
    });
    expect(await valueOf(stage.dataRoot)).toBe(path.resolve("/srv/stagewise-mock"));
    expect(await valueOf(stage.urn)).toBe("urn:pulumi:test::stagewise::stagewise:index:Stage::test");
});
