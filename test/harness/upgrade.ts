// What an upgrade test needs around the engine: a checkout whose files are swapped for another
// version's (as a pull does), the steps of a preview or up as the engine reports them (its
// structured events, not its text), and the servers as PostgreSQL itself records them on disk
// (postmaster.pid, pg_control), read without asking the code under test.
import { EngineEvent, Stack } from "@pulumi/pulumi/automation";
import * as childProcess from "child_process";
import * as fs from "fs";
import * as path from "path";
import { copyCheckoutFiles, REPO_ROOT } from "./engine";

/** `commit` is in this clone (a shallow clone lacks the older ones). */
export function hasCommit(commit: string): boolean {
    return childProcess.spawnSync("git", ["cat-file", "-e", `${commit}^{commit}`], { cwd: REPO_ROOT }).status === 0;
}

/**
 * Replaces `checkout`'s files with `commit`'s (`git archive`), or without one with this working
 * tree's (tracked and new files), as a pull does: the deployed data (.stagewise) and the shared
 * dependencies (node_modules) stay.
 */
export function checkOutInto(checkout: string, commit?: string): void {
    for (const entry of fs.readdirSync(checkout)) {
        if (![".stagewise", "node_modules"].includes(entry)) {
            fs.rmSync(path.join(checkout, entry), { recursive: true, force: true });
        }
    }
    if (commit === undefined) {
        copyCheckoutFiles(checkout);
        return;
    }
    const archive = childProcess.spawnSync("git", ["archive", commit], { cwd: REPO_ROOT, maxBuffer: 256 * 1024 * 1024 });
    if (archive.status !== 0) {
        throw new Error(`git archive ${commit}: ${archive.stderr.toString()}`);
    }
    childProcess.execFileSync("tar", ["-x", "-C", checkout], { input: archive.stdout });
}

/** One step of an engine operation: what it does to which resource. */
export interface Step {
    op: string;
    urn: string;
    /** The resource's type token. */
    type: string;
    /** Inputs that differ (the engine's `diffs`), when it says. */
    diffs: string[];
}

/** The steps the engine reports (resourcePreEvent) for a preview or up, in order; pass the result of `run` through. */
export async function recordSteps<T>(run: (onEvent: (event: EngineEvent) => void) => Promise<T>): Promise<{ result: T; steps: Step[] }> {
    const steps: Step[] = [];
    const result = await run((event) => {
        const m = event.resourcePreEvent?.metadata;
        if (m !== undefined) {
            steps.push({ op: m.op, urn: m.urn, type: m.type, diffs: m.diffs ?? [] });
        }
    });
    return { result, steps };
}

/**
 * The dynamic resources that are a running PostgreSQL server holding data: production's and
 * staging's servers, hot and warm standbys, the DR site's server. (Base backups, archives, shippers,
 * locks and admin objects are files or rows on those servers, not servers.) Matched on the type's
 * last segment, so a module or folder that moves in the type token still counts.
 */
export const SERVER_TYPE = /(^|[:/])(PostgresServer|HotStandby|WarmStandby|DisasterRecoveryServer)$/;

/** Steps that create, delete or replace something (everything but same, update, read and refresh). */
export const CHANGING_OPS = [
    "create",
    "delete",
    "replace",
    "create-replacement",
    "delete-replaced",
    "read-replacement",
    "discard",
    "discard-replaced",
    "remove-pending-replace",
    "import",
    "import-replacement",
];

/** A step as one line: op, URN and the inputs that differ. */
export function showStep(stack: string, step: Step): string {
    return `${stack}: ${step.op} ${step.urn}${step.diffs.length > 0 ? ` (diffs: ${step.diffs.join(", ")})` : ""}`;
}

/** The steps that create, delete or replace a resource, one line each. */
export function changingSteps(stack: string, steps: Step[]): string[] {
    return steps.filter((s) => CHANGING_OPS.includes(s.op)).map((s) => showStep(stack, s));
}

/**
 * What is wrong with a stack's steps for an upgrade in place: a step that creates, deletes or
 * replaces any resource, or anything but `same` for a server. One line per step, empty when fine.
 */
export function upgradeProblems(stack: string, steps: Step[]): string[] {
    return steps.filter((s) => CHANGING_OPS.includes(s.op) || (SERVER_TYPE.test(s.type) && s.op !== "same")).map((s) => showStep(stack, s));
}

/** The servers in a stack's state, as "type-segment name" (e.g. "PostgresServer prod-prod-db"). */
export async function serversInState(stack: Stack): Promise<string[]> {
    const resources = ((await stack.exportStack()).deployment?.resources ?? []) as { type: string; urn: string }[];
    return resources.filter((r) => SERVER_TYPE.test(r.type)).map((r) => serverKey(r.type, r.urn)).sort();
}

/** The servers among a run's steps whose op is `op`, keyed as serversInState does. */
export function serverSteps(steps: Step[], op: string): string[] {
    return steps.filter((s) => SERVER_TYPE.test(s.type) && s.op === op).map((s) => serverKey(s.type, s.urn)).sort();
}

function serverKey(type: string, urn: string): string {
    return `${SERVER_TYPE.exec(type)![2]} ${urn.split("::").pop()}`;
}

/** A running server as PostgreSQL records it: the postmaster (postmaster.pid's pid, data folder, start time, port) and pg_control's system identifier. */
export interface ServerOnDisk {
    postmaster: string[];
    systemIdentifier: string;
}

/**
 * Every running server under the data roots in `stagewiseDir` (`<stack>/<member>/pgdata` with a
 * postmaster.pid whose postmaster is alive), by "<stack>/<member>".
 */
export function runningServers(stagewiseDir: string): Record<string, ServerOnDisk> {
    const found: Record<string, ServerOnDisk> = {};
    for (const stack of fs.existsSync(stagewiseDir) ? fs.readdirSync(stagewiseDir).sort() : []) {
        const root = path.join(stagewiseDir, stack);
        for (const member of fs.statSync(root).isDirectory() ? fs.readdirSync(root).sort() : []) {
            const pgdata = path.join(root, member, "pgdata");
            const pidFile = path.join(pgdata, "postmaster.pid");
            if (!fs.existsSync(pidFile)) {
                continue;
            }
            const postmaster = fs.readFileSync(pidFile, "utf8").split("\n").slice(0, 4);
            if (!alive(Number(postmaster[0]))) {
                continue;
            }
            // ControlFileData starts with the uint64 system identifier (host byte order).
            found[`${stack}/${member}`] = { postmaster, systemIdentifier: fs.readFileSync(path.join(pgdata, "global", "pg_control")).readBigUInt64LE(0).toString() };
        }
    }
    return found;
}

/** Running (a zombie waiting to be reaped counts as ended). */
function alive(pid: number): boolean {
    try {
        return fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
    } catch {
        return false;
    }
}

/**
 * Stops, by the PID in their postmaster.pid, the servers still running under `stagewiseDir` (a
 * failed test's, a stack its down could not destroy): SIGINT is PostgreSQL's fast shutdown. Waits
 * up to 15 s for them to end; returns the ones it stopped, as "<stack>/<member>".
 */
export function stopServersUnder(stagewiseDir: string): string[] {
    const running = runningServers(stagewiseDir);
    for (const { postmaster } of Object.values(running)) {
        try {
            process.kill(Number(postmaster[0]), "SIGINT");
        } catch {
            // already gone
        }
    }
    const deadline = Date.now() + 15_000;
    while (Object.values(running).some((s) => alive(Number(s.postmaster[0]))) && Date.now() < deadline) {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
    return Object.keys(running);
}
