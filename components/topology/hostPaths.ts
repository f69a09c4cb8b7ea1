// The places of a stage on its hosts: on the deploying machine the PostgreSQL programs, the servers'
// OS user and the data root (the configured one, or the default, moved under SHARED_DATA_BASE when
// that user cannot enter the project's folder); on each of `hosts` a member names, the same asked
// over SSH. Asked once, before the topology is resolved.
import { isIP } from "net";
import * as path from "path";
import type { StageConfig } from "../config/config";
import { membersOnHosts } from "../config/hostRules";
import { findPostgresBinDir, POSTGRES_PROGRAMS, resolveDataRoot, serverOsUser, SHARED_DATA_BASE } from "../platform/local";
import type { RemoteMachine } from "../platform/platform";
import { describeMachine, shellWord } from "../platform/sshConnection";
import { SshHost } from "../platform/sshHost";
import { sameSubnet } from "../standby/hot/redirection";
import { HostPaths, RemotePlaces, resolveStage, StageTopology } from "./topology";

export interface LocalPlaces extends HostPaths {
    /** The default data root was moved because the servers' OS user cannot enter the project's folder. */
    readonly moved: boolean;
}

/** The places of `stack` on the deploying machine (on docker only the programs); throws when the PostgreSQL programs are not found. */
export function hostPaths(platform: StageConfig["platform"], stack: string, projectDir?: string): LocalPlaces {
    const binDir = findPostgresBinDir(platform.binDir);
    if (platform.kind !== "local") {
        return { binDir, dataRoot: undefined, osUser: undefined, moved: false };
    }
    const osUser = serverOsUser(platform.osUser);
    const dataRoot = resolveDataRoot(platform.dataRoot, stack, projectDir, osUser);
    return { binDir, osUser, dataRoot, moved: platform.dataRoot === undefined && dataRoot.startsWith(SHARED_DATA_BASE + path.sep) };
}

/** Where the servers of `stack` live on a host whose `dataRoot` is not configured. */
export const remoteDataRoot = (stack: string) => `/var/lib/stagewise/${stack}`;

/**
 * The places on each host a member names, asked over SSH: the PostgreSQL programs (the configured
 * folder, else the newest /usr/lib/postgresql/N/bin there) and their version. Throws, naming the host,
 * when it cannot be reached or lacks the programs.
 */
export function remotePlaces(config: Pick<StageConfig, "hosts" | "servers" | "standbys">, stack: string): Record<string, RemotePlaces> {
    const named = [...new Set(membersOnHosts(config).map((m) => m.host))];
    const admitted = (name: string) => [...(config.hosts[name].admit ?? []), ...peersOnOtherSubnets(name, named, config.hosts)];
    return Object.fromEntries(named.map((name) => [name, withLostHint(name, () => placesOn(name, config.hosts[name], stack, admitted(name)))]));
}

/**
 * The addresses of the stage's other hosts that `samenet` in pg_hba.conf does not cover: members
 * there replicate from, ship from or fail over to servers on this one. Only IP addresses: a DNS name
 * is admitted through hosts.<name>.admit.
 */
export function peersOnOtherSubnets(name: string, named: readonly string[], hosts: StageConfig["hosts"]): string[] {
    const own = hosts[name].address;
    const peers = named.filter((n) => n !== name).map((n) => hosts[n].address);
    return [...new Set(peers.filter((a) => isIP(a) !== 0 && isIP(own) !== 0 && !sameSubnet([own, a])))];
}

/** An unreachable host's error, with the way to fail over without it. */
function withLostHint<T>(name: string, ask: () => T): T {
    try {
        return ask();
    } catch (err) {
        const message = (err as Error).message;
        if (!/ is unreachable: /.test(message)) {
            throw err;
        }
        throw new Error(
            `${message}; if the host is gone or cut off, declare it lost to go on without it (pulumi config set --path hosts.${name}.lost true): ` +
                "its members are then left as they are, and a member on another host can be declared the primary",
        );
    }
}

function placesOn(name: string, host: StageConfig["hosts"][string], stack: string, admit: string[]): RemotePlaces {
    const machine: RemoteMachine = {
        name, address: host.address, port: host.port, user: host.user, privateKey: host.privateKey, hostKey: host.hostKey,
        ...(admit.length > 0 ? { admit } : {}),
        ...(host.lost ? { lost: true as const } : {}),
    };
    const osUser = host.osUser ?? (host.user === "root" ? "postgres" : host.user);
    if (machine.lost) {
        // Not asked: the members there keep what their state records (the kit ignores their new inputs).
        return { machine, binDir: host.binDir ?? NOT_ASKED, osUser, dataRoot: host.dataRoot ?? remoteDataRoot(stack), postgresVersion: NOT_ASKED };
    }
    const probe = new SshHost({ binDir: "", osUser, machine });
    const binDir = host.binDir ?? newestBinDir(probe, machine);
    const present = new Set(probe.list(binDir)); // one round trip for all the programs
    const missing = POSTGRES_PROGRAMS.filter((program) => !present.has(program));
    if (missing.length > 0) {
        throw new Error(
            `${describeMachine(machine)}: ${host.binDir !== undefined ? `hosts.${name}.binDir ${JSON.stringify(binDir)}` : binDir} lacks the PostgreSQL program${missing.length > 1 ? "s" : ""} ${missing.join(", ")} ` +
                `(install the PostgreSQL server there, e.g. apt-get install postgresql-15, or point hosts.${name}.binDir at the folder holding them)`,
        );
    }
    const postgresVersion = new SshHost({ binDir, osUser, machine }).run("postgres", ["--version"]).trim();
    return { machine, binDir, osUser, dataRoot: host.dataRoot ?? remoteDataRoot(stack), postgresVersion };
}

/** What a lost host was not asked (its programs' folder, their version). */
export const NOT_ASKED = "(not asked: the host is declared lost)";

/** The newest Debian-style program folder on the host; throws naming the host when there is none. */
function newestBinDir(probe: SshHost, machine: RemoteMachine): string {
    const versions = probe
        .list("/usr/lib/postgresql")
        .filter((v) => /^\d+$/.test(v))
        .sort((a, b) => Number(b) - Number(a));
    const found = versions.map((v) => `/usr/lib/postgresql/${v}/bin`).find((dir) => probe.exists(path.posix.join(dir, "initdb")));
    if (found === undefined) {
        throw new Error(
            `${describeMachine(machine)}: PostgreSQL server programs (initdb, pg_ctl, postgres) were not found in ${shellWord("/usr/lib/postgresql/*/bin")} there ` +
                `(install the PostgreSQL server on that host, e.g. apt-get install postgresql-15, or set hosts.${machine.name}.binDir)`,
        );
    }
    return found;
}

/** The places of `stack` on this machine and on each host its members name. */
export function stagePlaces(config: StageConfig, stack: string, projectDir?: string): LocalPlaces {
    return { ...hostPaths(config.platform, stack, projectDir), hosts: remotePlaces(config, stack) };
}

/** The topology of `stack` with its places on this machine and on its hosts (what a stage component resolves once). */
export function stageTopology(config: StageConfig, stack: string, projectDir?: string): StageTopology {
    return resolveStage(config, stack, stagePlaces(config, stack, projectDir));
}
