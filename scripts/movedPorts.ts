// The embedded stacks' default ports moved out of Linux's ephemeral port range (55432-55462, inside
// 32768-60999, to 15432-15462). A new port is a new server, so a stack already deployed on an old
// default keeps it: its stack file is set back to the port its server listens on, and the main job
// says so. Nothing changes for stacks deployed on the new ports or on ports of their own.
import { Stack } from "@pulumi/pulumi/automation";

/** The embedded servers whose default port moved, by stack. */
export const MOVED_DEFAULT_PORTS: Record<string, Record<string, { from: number; to: number }>> = {
    prod: { "prod-db": { from: 55432, to: 15432 } },
    test: { "test-db": { from: 55442, to: 15442 } },
    dev: { "dev-db": { from: 55452, to: 15452 } },
    dr: { "prod-db": { from: 55462, to: 15462 } },
};

const SERVER_TYPES = ["pulumi-nodejs:dynamic/stagewise:PostgresServer", "pulumi-nodejs:dynamic/stagewise:DisasterRecoveryServer"];

interface StateResource {
    type: string;
    inputs?: { serverName?: string; port?: number };
}

/**
 * Sets stack `name`'s servers back to the old default port where its deployed server still listens
 * there and the stack file names the new default. Returns one line a kept port, for the operator.
 */
export async function keepDeployedPorts(stack: Stack, name: string): Promise<string[]> {
    const moved = MOVED_DEFAULT_PORTS[name];
    if (moved === undefined) {
        return [];
    }
    const resources = ((await stack.exportStack()).deployment?.resources ?? []) as StateResource[];
    const deployed = resources.filter((r) => SERVER_TYPES.includes(r.type));
    if (deployed.length === 0) {
        return [];
    }
    // Read and written as the stack file's own structure, so it stays a YAML map (and keeps its encryptionsalt).
    const settings = await stack.workspace.stackSettings(name);
    const servers = settings.config?.["stagewise:servers"] as Record<string, { port?: number }> | undefined;
    const kept: string[] = [];
    for (const [server, { from, to }] of Object.entries(moved)) {
        const listensOnOld = deployed.some((r) => r.inputs?.serverName === server && r.inputs?.port === from);
        if (typeof servers === "object" && servers?.[server]?.port === to && listensOnOld) {
            servers[server].port = from;
            kept.push(
                `${name}: servers.${server}.port stays ${from}, where its deployed server listens (the default moved to ${to}, ` +
                    `outside the kernel's ephemeral port range; Pulumi.${name}.yaml now says ${from} — moving to ${to} replaces the server, see the README)`,
            );
        }
    }
    if (kept.length > 0) {
        await stack.workspace.saveStackSettings(name, settings);
    }
    return kept;
}
