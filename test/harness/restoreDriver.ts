// Runs one restoreBackupSet in a process of its own, so a test can kill it (kill -9) right after the
// first data directory was swapped out. Reads the request as JSON on stdin (no password on a command
// line); prints "swapped <server>" and then waits to be killed.
import { restoreBackupSet, RestoreRequest } from "../../components/backup/backupSets";

async function main(): Promise<void> {
    let input = "";
    for await (const chunk of process.stdin) {
        input += String(chunk);
    }
    const req = JSON.parse(input) as RestoreRequest;
    await restoreBackupSet(req, {
        afterSwap: (server) => {
            console.log(`swapped ${server}`);
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000); // until killed
        },
    });
}

main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
});
