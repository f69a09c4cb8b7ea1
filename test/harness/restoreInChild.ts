// A restore in a process of its own (test/harness/restoreDriver.ts), held right after it swapped out
// `server`'s data directory, for a test to kill it there (kill -9).
import * as childProcess from "child_process";
import * as path from "path";
import type { RestoreRequest } from "../../components/backup/backupSets";
import { REPO_ROOT } from "./engine";

/** Resolves with the driver once it has swapped `server` out; rejects when it exits before. */
export async function restoreHeldAfterSwap(request: RestoreRequest, server: string): Promise<childProcess.ChildProcess> {
    const driver = childProcess.spawn(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(REPO_ROOT, "test/harness/restoreDriver.ts")], {
        cwd: REPO_ROOT,
        stdio: ["pipe", "pipe", "inherit"],
    });
    driver.stdin!.end(JSON.stringify(request)); // the request holds passwords: stdin, not the command line
    await new Promise<void>((resolve, reject) => {
        driver.stdout!.on("data", (chunk: Buffer) => String(chunk).includes(`swapped ${server}`) && resolve());
        driver.on("exit", (code) => reject(new Error(`driver exited with ${code} before the swap`)));
    });
    return driver;
}
