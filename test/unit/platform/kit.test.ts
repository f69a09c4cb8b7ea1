import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LocalHost } from "../../../components/platform/localHost";
import type { Host } from "../../../components/platform/platform";
import { baseBackupArgs, pgpassLine, runBaseBackup } from "../../../components/postgres/baseBackup";
import { hostForUrl } from "../../../components/postgres/pg";
import { waitUntil, waitUntilSync } from "../../../components/postgres/poll";

describe("hostForUrl", () => {
    test.each([
        ["127.0.0.1", "127.0.0.1"],
        ["db.example", "db.example"],
        ["::1", "[::1]"],
    ])("%s stands in a URL as %s", (host, expected) => {
        expect(hostForUrl(host)).toBe(expected);
    });
});

describe("waitUntil", () => {
    test("resolves with the first answer that is there", async () => {
        let calls = 0;
        await expect(waitUntil(() => (++calls === 3 ? "ready" : undefined), { timeoutMs: 5_000, intervalMs: 1 })).resolves.toBe("ready");
        expect(calls).toBe(3);
    });

    test("fails with the caller's message once the time is up", async () => {
        await expect(waitUntil(() => false, { timeoutMs: 0, intervalMs: 1, failure: "standby did not start within 60 s" })).rejects.toThrow(
            "standby did not start within 60 s",
        );
    });

    test("builds the failure when it happens, and gives up at once when stopWhen holds", async () => {
        let calls = 0;
        const waiting = waitUntil(() => (calls++, null), { timeoutMs: 60_000, intervalMs: 1, stopWhen: () => calls === 2, failure: () => `gone after ${calls} looks` });
        await expect(waiting).rejects.toThrow("gone after 2 looks");
    });

    test("the synchronous form answers alike", () => {
        let calls = 0;
        expect(waitUntilSync(() => (++calls === 2 ? 42 : false), { timeoutMs: 5_000, intervalMs: 1 })).toBe(42);
        expect(() => waitUntilSync(() => false, { timeoutMs: 0, intervalMs: 1, failure: "initdb did not stop" })).toThrow("initdb did not stop");
    });
});

describe("the pg_basebackup invocation", () => {
    const source = { host: "10.0.0.5", port: 5433, superuserPassword: "p:a\\ss" };

    test("pgpassLine escapes \\ and : in the password", () => {
        expect(pgpassLine(source)).toBe("10.0.0.5:5433:*:postgres:p\\:a\\\\ss\n");
    });

    test("a hot standby's arguments create its slot and write its recovery settings; a copy's name its label and checksums", () => {
        expect(baseBackupArgs(source, { dataDir: "/d", slot: "stagewise_a", writeRecoveryConf: true })).toEqual(
            ["-h", "10.0.0.5", "-p", "5433", "-U", "postgres", "-D", "/d", "-X", "stream", "-c", "fast", "-R", "-C", "-S", "stagewise_a", "-w", "--progress"],
        );
        expect(baseBackupArgs(source, { dataDir: "/d", label: "stagewise copy", manifestChecksums: "SHA256" })).toEqual(
            ["-h", "10.0.0.5", "-p", "5433", "-U", "postgres", "-D", "/d", "-X", "stream", "-c", "fast", "--manifest-checksums=SHA256", "--label=stagewise copy", "-w", "--progress"],
        );
    });

    test.each([["succeeds", undefined], ["fails", new Error("pg_basebackup failed (exit 1)")]])(
        "runs on the receiving host with the password in a 0600 PGPASSFILE, removed when it %s",
        async (_, failure) => {
            const calls: string[] = [];
            const host = {
                writeFile: (file: string, content: string, options: { mode: number }) => calls.push(`write ${file} ${content.trim()} ${options.mode.toString(8)}`),
                watch: async (program: string, args: string[], options: { env: Record<string, string>; cwd: string; onLine: (l: string) => void }) => {
                    calls.push(`watch ${program} ${args.slice(0, 2).join(" ")} PGPASSFILE=${options.env.PGPASSFILE} cwd=${options.cwd}`);
                    options.onLine("1024/2048 kB (50%)");
                    if (failure) {
                        throw failure;
                    }
                    return "";
                },
                remove: (file: string) => calls.push(`remove ${file}`),
            } as unknown as Host;
            const lines: string[] = [];
            const run = runBaseBackup(host, source, { dataDir: "/srv/s/pgdata", workDir: "/srv/s/", onProgress: (l) => lines.push(l) });
            await (failure ? expect(run).rejects.toThrow("pg_basebackup failed (exit 1)") : expect(run).resolves.toBeUndefined());
            expect(calls).toEqual([
                "write /srv/s/.basebackup-pgpass 10.0.0.5:5433:*:postgres:p\\:a\\\\ss 600",
                "watch pg_basebackup -h 10.0.0.5 PGPASSFILE=/srv/s/.basebackup-pgpass cwd=/srv/s/",
                "remove /srv/s/.basebackup-pgpass",
            ]);
            expect(lines).toEqual(["1024/2048 kB (50%)"]);
        },
    );
});

describe("LocalHost files", () => {
    let dir: string;
    const host = new LocalHost({ binDir: "/nonexistent" });
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-host-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("writeFile writes whole, mode 0600 unless told, leaving no temporary file", () => {
        host.writeFile(path.join(dir, "a.conf"), "one\n");
        host.writeFile(path.join(dir, "a.conf"), "two\n");
        host.writeFile(path.join(dir, "b"), Buffer.from("bytes"), { mode: 0o640 });
        expect(host.list(dir).sort()).toEqual(["a.conf", "b"]);
        expect(host.readText(path.join(dir, "a.conf"))).toBe("two\n");
        expect(fs.statSync(path.join(dir, "a.conf")).mode & 0o777).toBe(0o600);
        expect(fs.statSync(path.join(dir, "b")).mode & 0o777).toBe(0o640);
        expect(host.readBytes(path.join(dir, "b")).toString()).toBe("bytes");
    });

    test("makeFolder, facts, rename, remove and list of a missing folder", () => {
        host.makeFolder(path.join(dir, "x", "y"));
        expect(fs.statSync(path.join(dir, "x", "y")).mode & 0o777).toBe(0o700);
        expect(host.facts(path.join(dir, "x"))?.kind).toBe("folder");
        host.appendText(path.join(dir, "x", "y", "log"), "a");
        host.appendText(path.join(dir, "x", "y", "log"), "b");
        expect(host.facts(path.join(dir, "x", "y", "log"))).toMatchObject({ kind: "file", bytes: 2 });
        host.rename(path.join(dir, "x"), path.join(dir, "z"));
        expect(host.exists(path.join(dir, "x"))).toBe(false);
        expect(host.readText(path.join(dir, "z", "y", "log"))).toBe("ab");
        host.remove(path.join(dir, "z"));
        host.remove(path.join(dir, "z"));
        expect(host.facts(path.join(dir, "z"))).toBeUndefined();
        expect(host.list(path.join(dir, "z"))).toEqual([]);
        expect(() => host.readText(path.join(dir, "z"))).toThrow(expect.objectContaining({ code: "ENOENT" }));
    });
});

describe("LocalHost exclusive writes, links and processes", () => {
    let dir: string;
    const host = new LocalHost({ binDir: "/nonexistent" });
    beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-host-"))));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("an exclusive write fails with EEXIST when the file is there, keeping it, and leaves no temporary file", () => {
        const journal = path.join(dir, "journal.json");
        host.writeFile(journal, "first\n", { exclusive: true, durable: true });
        expect(() => host.writeFile(journal, "second\n", { exclusive: true })).toThrow(expect.objectContaining({ code: "EEXIST" }));
        expect(host.readText(journal)).toBe("first\n");
        expect(host.list(dir)).toEqual(["journal.json"]);
    });

    test("copyFile keeps the mode; link never overwrites", () => {
        const from = path.join(dir, "segment");
        fs.writeFileSync(from, "wal", { mode: 0o640 });
        host.copyFile(from, path.join(dir, "copy"));
        expect(fs.statSync(path.join(dir, "copy")).mode & 0o777).toBe(0o640);
        host.link(path.join(dir, "copy"), path.join(dir, "linked"));
        expect(host.readText(path.join(dir, "linked"))).toBe("wal");
        expect(() => host.link(from, path.join(dir, "linked"))).toThrow(expect.objectContaining({ code: "EEXIST" }));
    });

    test("a detached process is found by its arguments and environment, and ends on a signal", async () => {
        const started = host.startDetached("sleep", ["300"], {
            logFile: path.join(dir, "sleep.log"),
            env: { PATH: process.env.PATH ?? "/usr/bin:/bin", STAGEWISE_TEST_MARK: "kit" },
        });
        try {
            expect(host.isAlive(started)).toBe(true);
            expect(host.commandOf(started.pid)).toEqual(["sleep", "300", ""]);
            expect(host.environmentOf(started.pid)).toContain("STAGEWISE_TEST_MARK=kit");
            expect(host.isAlive({ pid: started.pid, startTime: "not its start time" })).toBe(false);
        } finally {
            host.signal(started.pid, "SIGKILL");
        }
        await waitUntil(() => !host.isAlive(started), { timeoutMs: 10_000, intervalMs: 20, failure: "sleep did not end" });
        expect(host.commandOf(started.pid)).toBeUndefined();
    });

    test("a program that cannot start is named in the error", () => {
        expect(() => host.startDetached(path.join(dir, "missing"), [], { logFile: path.join(dir, "x.log"), what: "the shipper" })).toThrow("the shipper could not be started");
    });
});
