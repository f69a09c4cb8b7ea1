import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findPostgresBinDir, resolveDataRoot, serverOsUser, sharedDataRoot, userCanEnter } from "../../../components/platform/local";

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-bins-"));
    fs.mkdirSync(path.join(dir, "full"));
    fs.mkdirSync(path.join(dir, "partial"));
    for (const p of ["initdb", "pg_ctl", "postgres", "psql", "pg_basebackup"]) {
        fs.writeFileSync(path.join(dir, "full", p), "#!/bin/sh\n", { mode: 0o755 });
    }
    fs.writeFileSync(path.join(dir, "partial", "initdb"), "#!/bin/sh\n", { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("findPostgresBinDir", () => {
    test("uses the configured folder when it has every program", () => {
        expect(findPostgresBinDir(path.join(dir, "full"))).toBe(path.join(dir, "full"));
    });

    test("names the missing programs and the setting when the configured folder lacks some", () => {
        expect(() => findPostgresBinDir(path.join(dir, "partial"))).toThrow(
            `platform.binDir: ${JSON.stringify(path.join(dir, "partial"))} lacks the PostgreSQL programs pg_ctl, postgres, psql, pg_basebackup ` +
                "(point it at the folder holding initdb and pg_ctl, e.g. /usr/lib/postgresql/15/bin)",
        );
    });

    test("finds the programs on PATH", () => {
        const found = findPostgresBinDir(undefined, { PATH: `${path.join(dir, "partial")}:${path.join(dir, "full")}` });
        // A Debian /usr/lib/postgresql/N/bin is preferred when this machine has one.
        expect([path.join(dir, "full"), expect.stringMatching(/^\/usr\/lib\/postgresql\/\d+\/bin$/)]).toContainEqual(found);
    });

    test("says what to install and which setting points at the programs when none are found", () => {
        if (fs.existsSync("/usr/lib/postgresql")) {
            // This machine has a Debian PostgreSQL: check the message through a configured folder instead.
            expect(() => findPostgresBinDir(path.join(dir, "nowhere"))).toThrow(/lacks the PostgreSQL programs initdb, pg_ctl, postgres/);
            return;
        }
        expect(() => findPostgresBinDir(undefined, { PATH: path.join(dir, "partial") })).toThrow(
            "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found in /usr/lib/postgresql/*/bin or on PATH. " +
                "Install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql-15), " +
                "or set platform.binDir to the folder holding them (pulumi config set --path platform.binDir <folder>).",
        );
    });
});

test("resolveDataRoot defaults to .stagewise/<stack> in the project and resolves relative paths there", () => {
    expect(resolveDataRoot(undefined, "prod", "/p")).toBe("/p/.stagewise/prod");
    expect(resolveDataRoot("data/x", "prod", "/p")).toBe("/p/data/x");
    expect(resolveDataRoot("/srv/pg", "prod", "/p")).toBe("/srv/pg");
});

describe("the default data root when the servers' OS user cannot enter the project (root's 0700 home)", () => {
    // Runs as root (CI and this machine); the servers' user is postgres, as in the embedded default.
    const runAsRoot = process.getuid?.() === 0 ? test : test.skip;
    let closed: string;
    let open: string;
    beforeAll(() => {
        closed = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-closed-")); // mkdtemp: mode 0700, root's
        open = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-open-"));
        fs.chmodSync(open, 0o755);
        fs.mkdirSync(path.join(closed, "clone"));
        fs.mkdirSync(path.join(open, "clone"));
    });
    afterAll(() => {
        fs.rmSync(closed, { recursive: true, force: true });
        fs.rmSync(open, { recursive: true, force: true });
    });

    runAsRoot("userCanEnter follows the mode bits of every existing folder on the way", () => {
        expect(userCanEnter("postgres", path.join(closed, "clone", ".stagewise", "prod"))).toBe(false);
        expect(userCanEnter("postgres", path.join(open, "clone", ".stagewise", "prod"))).toBe(true);
        expect(userCanEnter("root", path.join(closed, "clone"))).toBe(true);
        expect(userCanEnter("no-such-user-here", path.join(open, "clone"))).toBe(false);
    });

    runAsRoot("moves under /var/lib/stagewise, keyed by the project folder's path, only when it must", () => {
        const projectDir = path.join(closed, "clone");
        const shared = resolveDataRoot(undefined, "prod", projectDir, "postgres");
        expect(shared).toMatch(/^\/var\/lib\/stagewise\/clone-[0-9a-f]{10}\/prod$/);
        expect(shared).toBe(sharedDataRoot("prod", projectDir));
        expect(sharedDataRoot("prod", path.join(open, "clone"))).not.toBe(shared); // two clones never share one
        expect(resolveDataRoot(undefined, "prod", path.join(open, "clone"), "postgres")).toBe(path.join(open, "clone", ".stagewise", "prod"));
        expect(resolveDataRoot(undefined, "prod", projectDir, undefined)).toBe(path.join(projectDir, ".stagewise", "prod"));
        expect(resolveDataRoot("data", "prod", projectDir, "postgres")).toBe(path.join(projectDir, "data")); // configured: as written
    });

    runAsRoot("a data root already claimed in the project stays there, even if its folder was closed since", () => {
        const projectDir = path.join(closed, "clone");
        fs.mkdirSync(path.join(projectDir, ".stagewise", "dev"), { recursive: true });
        fs.writeFileSync(path.join(projectDir, ".stagewise", "dev", ".stagewise-data-root.json"), "{}");
        expect(resolveDataRoot(undefined, "dev", projectDir, "postgres")).toBe(path.join(projectDir, ".stagewise", "dev"));
    });
});

test("serverOsUser hands the servers to postgres (or the configured user) only when deploying as root", () => {
    expect(serverOsUser(undefined, 0)).toBe("postgres");
    expect(serverOsUser("pgrun", 0)).toBe("pgrun");
    expect(serverOsUser(undefined, 1000)).toBeUndefined();
    expect(serverOsUser("pgrun", 1000)).toBe("pgrun");
});
