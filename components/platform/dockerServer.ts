// DockerServer: one of a stage's PostgreSQL servers as a container on a Docker host — the image,
// volumes for its data and WAL archive, the stage's network, a health check and a restart policy —
// with the engine's role and databases as @pulumi/postgresql objects and the reference schema loaded
// through psql. No Docker engine runs on this project's machines: this graph is verified with Pulumi
// mocks only (test/unit/components/docker.test.ts).
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";

/** Where the official image keeps its data, and where this project puts the WAL archive. */
export const CONTAINER_DATA_DIR = "/var/lib/postgresql/data";
export const CONTAINER_WAL_ARCHIVE = "/var/lib/postgresql/wal-archive";

export interface DockerServerArgs {
    readonly serverName: string;
    /** e.g. "postgres:15" */
    readonly image: pulumi.Input<string>;
    /** The stage's network; the server joins it under its own name. */
    readonly network: docker.Network;
    /** Address on the Docker host the port is published on (loopback by default). */
    readonly host: string;
    readonly port: number;
    /** postgresql.conf settings, passed as `-c name=value`. */
    readonly settings: Record<string, string>;
    readonly superuserPassword: pulumi.Input<string>;
    readonly applicationPassword: pulumi.Input<string>;
    readonly ownerRole: string;
    /** The engine databases this server holds, with the SQL that loads their schema ("" for none). */
    readonly databases: { name: string; schemaSql: string }[];
    /** Folder of psql on the deploying machine (the schema is loaded through the published port). */
    readonly binDir: string;
    /** Keep the volumes when the server is deleted. */
    readonly retain: boolean;
    /** The stage's Docker provider (its host). @default the default provider (DOCKER_HOST or the local socket) */
    readonly dockerProvider?: docker.Provider;
}

export class DockerServer extends pulumi.ComponentResource {
    public readonly host: pulumi.Output<string>;
    public readonly port: pulumi.Output<number>;
    public readonly superuserPassword: pulumi.Output<string>;
    public readonly applicationPassword: pulumi.Output<string>;
    public readonly running: pulumi.Output<boolean>;
    public readonly startedAt: pulumi.Output<string>;
    /** The container's id: a container has no cluster identifier the engine can read without a connection. */
    public readonly systemIdentifier: pulumi.Output<string>;
    /** The image the server runs. */
    public readonly serverVersion: pulumi.Output<string>;
    public readonly container: docker.Container;

    constructor(name: string, args: DockerServerArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:docker:Server", name, {}, opts);
        const dockerOpts = { parent: this, provider: args.dockerProvider };
        // Data outlives containers: volumes are kept on `retain`, and a new image never touches them.
        const volumeOpts = { ...dockerOpts, retainOnDelete: args.retain };
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, dockerOpts);
        const data = new docker.Volume(`${name}-data`, { name: `${name}-data` }, volumeOpts);
        const walArchive = new docker.Volume(`${name}-wal-archive`, { name: `${name}-wal-archive` }, volumeOpts);
        const superuserPassword = pulumi.secret(args.superuserPassword);

        this.container = new docker.Container(
            `${name}-container`,
            {
                name,
                image: image.imageId,
                hostname: args.serverName,
                envs: [pulumi.interpolate`POSTGRES_PASSWORD=${superuserPassword}`, "POSTGRES_INITDB_ARGS=--auth=scram-sha-256 --data-checksums"],
                command: ["postgres", ...Object.entries(args.settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])],
                ports: [{ internal: 5432, external: args.port, ip: args.host }],
                volumes: [
                    { volumeName: data.name, containerPath: CONTAINER_DATA_DIR },
                    { volumeName: walArchive.name, containerPath: CONTAINER_WAL_ARCHIVE },
                ],
                networksAdvanced: [{ name: args.network.name, aliases: [args.serverName] }],
                healthcheck: { tests: ["CMD-SHELL", "pg_isready -U postgres -h 127.0.0.1"], interval: "5s", timeout: "3s", retries: 10, startPeriod: "10s" },
                // Up again after a crash or a Docker host restart, unless an operator stopped it on purpose.
                restart: "unless-stopped",
                // `up` returns only once the server accepts connections, as on the local platform.
                wait: true,
                waitTimeout: 120,
            },
            dockerOpts,
        );

        const provider = new postgresql.Provider(
            `${name}-postgresql`,
            { host: args.host, port: args.port, username: "postgres", password: superuserPassword, sslmode: "disable", superuser: true },
            { parent: this, dependsOn: [this.container] },
        );
        const applicationPassword = pulumi.secret(args.applicationPassword);
        const role = new postgresql.Role(
            `${name}-${args.ownerRole}`,
            { name: args.ownerRole, login: true, password: applicationPassword },
            { parent: this, provider },
        );
        for (const db of args.databases) {
            const database = new postgresql.Database(`${name}-${db.name}`, { name: db.name, owner: role.name }, { parent: this, provider });
            if (db.schemaSql !== "") {
                // @pulumi/postgresql has no resource for arbitrary SQL; psql loads the schema once, as the owner.
                new command.local.Command(
                    `${name}-${db.name}-schema`,
                    {
                        create: '"$PG_BINDIR/psql" -v ON_ERROR_STOP=1 -q -f -',
                        stdin: db.schemaSql,
                        environment: {
                            PG_BINDIR: args.binDir,
                            PGHOST: args.host,
                            PGPORT: String(args.port),
                            PGDATABASE: db.name,
                            PGUSER: args.ownerRole,
                            PGPASSWORD: applicationPassword,
                        },
                        triggers: [database.id],
                    },
                    { parent: this, dependsOn: [database] },
                );
            }
        }

        this.host = pulumi.output(args.host);
        this.port = pulumi.output(args.port);
        this.superuserPassword = superuserPassword;
        this.applicationPassword = applicationPassword;
        this.running = this.container.mustRun.apply((mustRun) => mustRun !== false);
        this.startedAt = this.container.id.apply(() => new Date().toISOString());
        this.systemIdentifier = this.container.id;
        this.serverVersion = pulumi.output(args.image);
        this.registerOutputs({ host: this.host, port: this.port, container: this.container.id });
    }
}
