// Runs one copyDatabases in a process of its own, so tests can kill it (kill -9) part-way. Reads the
// CopyRequest (without onProgress) as JSON on stdin, so no password is on a command line; prints
// "progress: …" lines and, at the end, "report: {…}"; exits 1 with the error on stderr when it fails.
import { copyDatabases, CopyRequest } from "../../components/copy/stagingCopy";

async function main(): Promise<void> {
    let input = "";
    for await (const chunk of process.stdin) {
        input += String(chunk);
    }
    const req = JSON.parse(input) as CopyRequest;
    const report = await copyDatabases({ ...req, onProgress: (message) => console.log(`progress: ${message}`) });
    console.log(`report: ${JSON.stringify(report)}`);
}

main().catch((err: Error) => {
    console.error(err.message);
    process.exit(1);
});
