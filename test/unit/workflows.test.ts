// The GitHub workflows: actionlint (built from its Go module by scripts/actionlint.sh) finds no
// problem in them, and the preview workflow never runs an untrusted pull request's code on the
// self-hosted runner next to the production servers.
import * as childProcess from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const REPO_ROOT = path.join(__dirname, "../..");
const PREVIEW_FILE = ".github/workflows/preview.yml";
const SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository";
const BUILD_TIMEOUT = 10 * 60_000; // the first run builds actionlint from its Go module

const actionlint = (args: string[], cwd = REPO_ROOT) =>
    childProcess.spawnSync("bash", [path.join(REPO_ROOT, "scripts/actionlint.sh"), "-color=false", ...args], { cwd, encoding: "utf8" });

// The first call may build actionlint (it prints its progress); the tests below then see only its own output.
beforeAll(() => {
    const built = actionlint(["-version"]);
    expect(built.stderr.split("\n").filter((line) => !line.startsWith("stagewise: ")).join("")).toBe("");
    expect(built.status).toBe(0);
    expect(built.stdout).toMatch(/^v1\.7\.12\n/);
}, BUILD_TIMEOUT);

describe("actionlint", () => {
    test("finds nothing in the preview workflow", () => {
        const run = actionlint([PREVIEW_FILE]);
        expect({ status: run.status, stdout: run.stdout, stderr: run.stderr }).toEqual({ status: 0, stdout: "", stderr: "" });
    });

    describe("reports the exact problem in a broken workflow", () => {
        let dir: string;
        beforeAll(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-workflows-"));
        });
        afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

        const lint = (name: string, text: string) => {
            fs.writeFileSync(path.join(dir, name), text);
            const run = actionlint(["-oneline", name], dir);
            return { status: run.status, problems: run.stdout, stderr: run.stderr };
        };

        test("the preview job needing a job that is not there", () => {
            const text = fs.readFileSync(path.join(REPO_ROOT, PREVIEW_FILE), "utf8");
            expect(text).toContain("    needs: trust\n");
            const line = text.split("\n").indexOf("  preview:") + 1;
            expect(lint("needs.yml", text.replace("    needs: trust\n", "    needs: trusst\n"))).toEqual({
                status: 1,
                problems: `needs.yml:${line}:3: job "preview" needs job "trusst" which does not exist in this workflow [job-needs]\n`,
                stderr: "",
            });
        });

        test("the pull request's branch name pasted into a shell script", () => {
            const text = [
                "on: pull_request",
                "jobs:",
                "  note:",
                "    runs-on: ubuntu-latest",
                '    steps:\n      - run: echo "${{ github.event.pull_request.head.ref }}"',
                "",
            ].join("\n");
            expect(lint("injection.yml", text)).toEqual({
                status: 1,
                problems:
                    'injection.yml:6:24: "github.event.pull_request.head.ref" is potentially untrusted. avoid using it directly in inline scripts. ' +
                    "instead, pass it through an environment variable. see https://docs.github.com/en/actions/reference/security/secure-use" +
                    "#good-practices-for-mitigating-script-injection-attacks for more details [expression]\n",
                stderr: "",
            });
        });
    });
});

// A small reader for the workflow's block structure: no YAML parser is a direct dependency.
const withoutComments = (text: string) =>
    text
        .split("\n")
        .filter((line) => !/^\s*#/.test(line))
        .map((line) => line.replace(/\s+#\s.*$/, ""))
        .filter((line) => line.trim() !== "");

/** The keys at exactly `indent` spaces, each with its own line and the lines nested under it. */
const blocks = (lines: string[], indent: number): Map<string, string[]> => {
    const result = new Map<string, string[]>();
    let current: string[] | undefined;
    for (const line of lines) {
        const key = new RegExp(`^ {${indent}}([A-Za-z_][\\w-]*):`).exec(line);
        if (key) {
            current = [line];
            result.set(key[1], current);
        } else if (current && line.startsWith(" ".repeat(indent + 1))) {
            current.push(line);
        } else {
            current = undefined;
        }
    }
    return result;
};

/** The inline value of `key:` at `indent` spaces in a block, or undefined. */
const valueOf = (block: string[], key: string, indent: number) =>
    block.map((line) => new RegExp(`^ {${indent}}${key}: (.+)$`).exec(line)?.[1].trim()).find((value) => value !== undefined);

describe("the preview workflow", () => {
    const lines = withoutComments(fs.readFileSync(path.join(REPO_ROOT, PREVIEW_FILE), "utf8"));
    const top = blocks(lines, 0);
    const jobs = blocks(top.get("jobs") ?? [], 2);
    const selfHosted = [...jobs].filter(([, job]) => valueOf(job, "runs-on", 4) === "self-hosted");

    test("is triggered by pull_request, never pull_request_target", () => {
        expect([...blocks(top.get("on") ?? [], 2).keys()]).toEqual(["pull_request"]);
        expect(lines.join("\n")).not.toContain("pull_request_target");
    });

    test("grants no permission by default; each job asks for its own", () => {
        expect(top.get("permissions")).toEqual(["permissions: {}"]);
        expect([...jobs.keys()]).toEqual(["trust", "preview"]);
        expect(valueOf(jobs.get("trust")!, "permissions", 4)).toBe("{}");
        expect(blocks(jobs.get("preview")!, 4).get("permissions")).toEqual([
            "    permissions:",
            "      contents: read",
            "      pull-requests: write",
        ]);
    });

    test("runs on the self-hosted runner only for branches of this repository, in an environment with reviewers", () => {
        expect(selfHosted.map(([name]) => name)).toEqual(["preview"]);
        for (const [, job] of selfHosted) {
            const condition = valueOf(job, "if", 4)?.replace(/^\$\{\{\s*(.*?)\s*\}\}$/, "$1");
            expect(condition).not.toContain("||"); // a conjunction: nothing can stand in for the check
            expect(condition?.split("&&").map((part) => part.trim())).toContain(SAME_REPOSITORY);
            expect(valueOf(job, "environment", 4)).toBe("preview");
        }
    });

    test("references secrets only on the self-hosted runner, in the one step that previews", () => {
        const offRunner = [...jobs].filter(([, job]) => valueOf(job, "runs-on", 4) !== "self-hosted");
        expect(offRunner.map(([name]) => name)).toEqual(["trust"]);
        for (const [, job] of offRunner) {
            expect(job.join("\n")).not.toMatch(/secrets\.|actions\/checkout/);
        }
        for (const name of ["on", "env", "defaults", "concurrency"]) {
            expect((top.get(name) ?? []).join("\n")).not.toContain("secrets.");
        }
        const steps = (jobs.get("preview") ?? []).join("\n").split(/\n {6}- /).slice(1);
        expect(steps.map((step) => step.split("\n")[0])).toEqual([
            "uses: actions/checkout@v4",
            "uses: actions/setup-node@v4",
            "run: bash scripts/toolchain.sh",
            "uses: pulumi/actions@v6",
        ]);
        expect(steps.map((step) => step.includes("secrets."))).toEqual([false, false, false, true]);
        expect(steps[0]).toContain("persist-credentials: false");
        expect(steps[3].match(/secrets\.\w+/g)).toEqual(["secrets.PULUMI_BACKEND_URL", "secrets.GITHUB_TOKEN", "secrets.PULUMI_CONFIG_PASSPHRASE"]);
    });
});
