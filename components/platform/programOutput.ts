// A running program's output as both hosts collect it: stdout kept, stderr passed on line by line
// (its progress) and its tail kept for the error when the program fails. Plain Node, no Pulumi.
import type { ChildProcess } from "child_process";

/** The last lines a failed program wrote (progress lines left out). */
export function failureDetail(stderr: string, stdout: string): string {
    return `${stderr}${stdout}`.trim().split("\n").filter((l) => !/^\s*\d+\/\d+ kB/.test(l)).slice(-8).join("\n");
}

export interface Collecting {
    program: string;
    /** Each non-empty stderr line, as it comes. */
    onLine: (line: string) => void;
    /** Where it runs, for messages ("" here, " on host a (...)" elsewhere). */
    where: string;
    /** Its first stdout line is not output (a remote wrapper's pid). @default false */
    skipFirstLine?: boolean;
}

/** Resolves with the program's stdout once it exits 0; rejects with its exit (or signal) and last lines. */
export function collectOutput(child: ChildProcess, how: Collecting): Promise<string> {
    return new Promise((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        let partial = "";
        let skipping = how.skipFirstLine ?? false;
        child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
            if (skipping && stdout.includes("\n")) {
                skipping = false;
                stdout = stdout.slice(stdout.indexOf("\n") + 1);
            }
        });
        child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
            stderr = (stderr + chunk).slice(-65_536);
            const lines = (partial + chunk).split(/[\r\n]/);
            partial = lines.pop() ?? "";
            lines.filter((l) => l.trim() !== "").forEach(how.onLine);
        });
        child.on("error", (err) => reject(new Error(`${how.program} could not be started${how.where}: ${err.message}`)));
        child.on("close", (code, signal) => {
            if (partial.trim() !== "") {
                how.onLine(partial);
            }
            if (code === 0) {
                resolve(stdout);
                return;
            }
            reject(new Error(`${how.program} failed${how.where} (${signal ? `signal ${signal}` : `exit ${code}`}):\n${failureDetail(stderr, stdout)}`));
        });
    });
}
