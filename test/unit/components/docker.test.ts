// The docker platform's graph, with Pulumi mocks only: no Docker engine runs on this project's
// machines, so these tests check exact resources, inputs and dependencies, not running containers.
import * as pulumi from "@pulumi/pulumi";
import { installMocks, newStage, settled, valueOf } from "../../harness/mocks";

jest.mock("@pulumi/pulumi/runtime/closure/serializeClosure", () => require("../../harness/fakeSerializeClosure"));

const SECRETS = ["stagewise:superuserPassword", "stagewise:applicationPassword"];
const secretOf = (value: string) => ({ [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig, value });

async function buildDockerStage(stack: string, stage: string, servers: Record<string, unknown>) {
    const env = await installMocks(
        stack,
        {
            "stagewise:stage": stage,
            "stagewise:servers": JSON.stringify(servers),
            "stagewise:platform": JSON.stringify({ kind: "docker", image: "postgres:15", binDir: "/usr/lib/postgresql/15/bin" }),
            "stagewise:superuserPassword": "su-secret",
            "stagewise:applicationPassword": "app-secret",
        },
        SECRETS,
        (type) => (type === "docker:index/remoteImage:RemoteImage" ? { imageId: "sha256:abc" } : {}),
    );
    const { loadStageConfig } = await import("../../../components/config/config");
    const topology = await newStage(stack, loadStageConfig());
    await settled();
    return { env, topology };
}

describe("Stage on the docker platform (mocks)", () => {
    test("one server: network, image, data and WAL-archive volumes, container, engine role, databases and schema loads", async () => {
        const { env, topology } = await buildDockerStage("prod", "production", { "prod-db": { port: 55432, settings: { work_mem: "8MB" } } });
        expect(env.resources.map((r) => `${r.type}::${r.name}`).sort()).toEqual([
            "command:local:Command::prod-prod-db-business-schema",
            "command:local:Command::prod-prod-db-config-schema",
            "command:local:Command::prod-prod-db-work-schema",
            "docker:index/container:Container::prod-prod-db-container",
            "docker:index/network:Network::prod-network",
            "docker:index/remoteImage:RemoteImage::prod-prod-db-image",
            "docker:index/volume:Volume::prod-prod-db-data",
            "docker:index/volume:Volume::prod-prod-db-wal-archive",
            "postgresql:index/database:Database::prod-prod-db-business",
            "postgresql:index/database:Database::prod-prod-db-config",
            "postgresql:index/database:Database::prod-prod-db-work",
            "postgresql:index/role:Role::prod-prod-db-engine",
            "pulumi:providers:postgresql::prod-prod-db-postgresql",
            "stagewise:docker:Server::prod-prod-db",
            "stagewise:index:Stage::prod",
        ]);
        const container = env.get("docker:index/container:Container", "prod-prod-db-container").inputs;
        expect(container).toMatchObject({
            name: "prod-prod-db",
            image: "sha256:abc",
            hostname: "prod-db",
            command: ["postgres", "-c", "work_mem=8MB"],
            ports: [{ internal: 5432, external: 55432, ip: "127.0.0.1" }],
            volumes: [
                { volumeName: "prod-prod-db-data", containerPath: "/var/lib/postgresql/data" },
                { volumeName: "prod-prod-db-wal-archive", containerPath: "/var/lib/postgresql/wal-archive" },
            ],
            networksAdvanced: [{ name: "stagewise-prod", aliases: ["prod-db"] }],
            healthcheck: { tests: ["CMD-SHELL", "pg_isready -U postgres -h 127.0.0.1"], interval: "5s", timeout: "3s", retries: 10, startPeriod: "10s" },
            restart: "unless-stopped",
            wait: true,
        });
        // The superuser password reaches the container only inside a secret.
        expect(container.envs).toEqual({ ...secretOf(""), value: ["POSTGRES_PASSWORD=su-secret", "POSTGRES_INITDB_ARGS=--auth=scram-sha-256 --data-checksums"] });

        expect(env.get("pulumi:providers:postgresql", "prod-prod-db-postgresql").inputs).toMatchObject({ host: "127.0.0.1", port: "55432", username: "postgres", sslmode: "disable", superuser: "true" });
        expect(env.get("postgresql:index/role:Role", "prod-prod-db-engine").inputs).toMatchObject({ name: "engine", login: true, password: secretOf("app-secret") });
        expect(env.get("postgresql:index/database:Database", "prod-prod-db-config").inputs).toMatchObject({ name: "config", owner: "engine" });
        // The role and databases go through this server's own postgresql provider.
        const provider = "urn:pulumi:prod::stagewise::stagewise:docker:Server$pulumi:providers:postgresql::prod-prod-db-postgresql::prod-prod-db-postgresql-id";
        expect(env.get("postgresql:index/role:Role", "prod-prod-db-engine").provider).toBe(provider);
        expect(env.get("postgresql:index/database:Database", "prod-prod-db-work").provider).toBe(provider);
        const schema = env.get("command:local:Command", "prod-prod-db-config-schema").inputs;
        expect(schema.create).toBe('"$PG_BINDIR/psql" -v ON_ERROR_STOP=1 -q -f -');
        expect(schema.stdin).toContain('CREATE TABLE IF NOT EXISTS "HostServer"."LicenseKey"');
        // The owner's password makes the whole environment a secret.
        expect(schema.environment).toEqual({
            ...secretOf(""),
            value: { PG_BINDIR: "/usr/lib/postgresql/15/bin", PGHOST: "127.0.0.1", PGPORT: "55432", PGDATABASE: "config", PGUSER: "engine", PGPASSWORD: "app-secret" },
        });

        // Children hang under the Stage; the outputs the rest of the program reads are there.
        expect(await valueOf(topology.servers["prod-db"].urn)).toBe("urn:pulumi:prod::stagewise::stagewise:index:Stage$stagewise:docker:Server::prod-prod-db");
        expect(await valueOf(topology.postgresVersion)).toBe("image postgres:15");
        expect((await valueOf(topology.connectionStrings)).work).toBe("postgresql://engine:app-secret@127.0.0.1:55432/work");
    });
});
