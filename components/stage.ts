// Stage: one environment of the engine (production, development or test) and everything it runs on.
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { StageConfig } from "./config";
import { findPostgresBinDir, resolveDataRoot, serverOsUser } from "./platform/local";
import { DataRoot } from "./providers/dataRoot";

export interface StageArgs {
    /** The stack's validated configuration. */
    readonly config: StageConfig;
    /** Folder that relative paths in the configuration are resolved against. @default process.cwd() */
    readonly projectDir?: string;
}

export class Stage extends pulumi.ComponentResource {
    /** production | development | test */
    public readonly kind: StageConfig["stage"];
    /** Absolute path of the folder holding the stage's server data. */
    public readonly dataRoot: pulumi.Output<string>;
    /** Folder of the PostgreSQL programs the stage runs. */
    public readonly postgresBinDir: string;
    /** What `postgres --version` printed on the deploying machine. */
    public readonly postgresVersion: pulumi.Output<string>;

    constructor(name: string, args: StageArgs, opts: pulumi.ComponentResourceOptions = {}) {
        super("stagewise:index:Stage", name, {}, opts);
        const { config } = args;
        this.kind = config.stage;
        if (config.platform.kind !== "local") {
            throw new pulumi.ResourceError(`platform.kind "${config.platform.kind}" is not available yet (use "local")`, this);
        }
        const platform = config.platform;
        try {
            this.postgresBinDir = findPostgresBinDir(platform.binDir);
        } catch (err) {
            throw new pulumi.ResourceError((err as Error).message, this);
        }

        const owner = `${pulumi.getProject()}/${pulumi.getStack()}`;
        const dataRoot = new DataRoot(
            `${name}-data`,
            {
                path: resolveDataRoot(platform.dataRoot, pulumi.getStack(), args.projectDir),
                owner,
                stage: config.stage,
                osUser: serverOsUser(platform.osUser),
            },
            { parent: this },
        );
        this.dataRoot = dataRoot.path;

        // Proves the programs run here, and records which PostgreSQL the stage is built with.
        const postgresCheck = new command.local.Command(
            `${name}-postgres-version`,
            {
                create: '"$PG_BINDIR/postgres" --version',
                environment: { PG_BINDIR: this.postgresBinDir },
                triggers: [this.postgresBinDir],
            },
            { parent: this },
        );
        this.postgresVersion = postgresCheck.stdout;

        this.registerOutputs({
            kind: this.kind,
            dataRoot: this.dataRoot,
            postgresBinDir: this.postgresBinDir,
            postgresVersion: this.postgresVersion,
        });
    }
}
