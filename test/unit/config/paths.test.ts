// The paths the configuration names: the field rules as users meet them (parseStageConfig), and the
// checks where files are read (symbolic links resolved; nothing of a file's content in a message).
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseStageConfig, StageConfig } from "../../../components/config/config";
import { projectFile } from "../../../components/config/paths";
import { restoreBackupSet } from "../../../components/backup/backupSets";
import { planAdminObjects } from "../../../components/admin/promotion";

const valid = { "stagewise:stage": "development", "stagewise:servers": JSON.stringify({ main: { port: 55432 } }) };
const problemsOf = (extra: Record<string, string>) => {
    const result = parseStageConfig({ ...valid, ...extra }, new Set());
    return result.ok ? [] : result.problems;
};
const IN_ADMIN = 'use a path inside the project\'s admin/ folder, such as "admin/objects.json"';
const IN_PROJECT = 'use a path inside the project folder, such as "engine/settings.json"';
const OWN_FOLDER = 'use a folder of its own, e.g. "/srv/stagewise/prod" or ".stagewise/prod"';

describe("adminObjects", () => {
    test.each<[string, unknown, string]>([
        ["an absolute path", "/etc/passwd", `adminObjects: "/etc/passwd" is an absolute path (${IN_ADMIN})`],
        ["a climb out of the project", "../../../etc/passwd", `adminObjects: "../../../etc/passwd" climbs out of the project (${IN_ADMIN})`],
        ["a climb hidden behind a folder", "admin/../../secrets.json", `adminObjects: "admin/../../secrets.json" climbs out of the project (${IN_ADMIN})`],
        ["another project file", "Pulumi.prod.yaml", `adminObjects: "Pulumi.prod.yaml" is not a file inside the project's admin/ folder (${IN_ADMIN})`],
        ["a way out of admin/", "admin/../package.json", `adminObjects: "admin/../package.json" is not a file inside the project's admin/ folder (${IN_ADMIN})`],
        ["the admin folder itself", "admin/", `adminObjects: "admin/" is not a file inside the project's admin/ folder (${IN_ADMIN})`],
        ["a NUL character", "admin/x\u0000.json", `adminObjects: "admin/x\\u0000.json" contains a control character (${IN_ADMIN})`],
        ["a newline", "admin/x\n.json", `adminObjects: "admin/x\\n.json" contains a control character (${IN_ADMIN})`],
        ["an empty path", "", `adminObjects: is empty (${IN_ADMIN})`],
        ["a list", ["admin/objects.json"], 'adminObjects: ["admin/objects.json"] is not a file (use a path such as "admin/objects.json")'],
    ])("refuses %s", (_, value, message) => {
        expect(problemsOf({ "stagewise:adminObjects": typeof value === "string" ? value : JSON.stringify(value) })).toEqual([message]);
    });

    test.each(["admin/objects.json", "admin/stage/test.json", "./admin/objects.json"])("accepts %s", (value) => {
        expect(problemsOf({ "stagewise:adminObjects": value })).toEqual([]);
    });
});

describe("backups.configFiles", () => {
    test.each<[string, unknown[], string[]]>([
        ["an absolute path", ["engine/a.json", "/etc/shadow"], [`backups.configFiles[1]: "/etc/shadow" is an absolute path (${IN_PROJECT})`]],
        ["climbs out of the project", ["../../../etc/cron.d/x", "engine/../../x"], [
            `backups.configFiles[0]: "../../../etc/cron.d/x" climbs out of the project (${IN_PROJECT})`,
            `backups.configFiles[1]: "engine/../../x" climbs out of the project (${IN_PROJECT})`,
        ]],
        ["the project folder itself", ["engine/.."], [`backups.configFiles[0]: "engine/.." is not a file inside the project folder (${IN_PROJECT})`]],
        ["a control character", ["engine/\u0007.json"], [`backups.configFiles[0]: "engine/\\u0007.json" contains a control character (${IN_PROJECT})`]],
        ["an empty path", [""], [`backups.configFiles[0]: is empty (${IN_PROJECT})`]],
        ["not a string", [1], ['backups.configFiles[0]: 1 is not a file (use a path such as "engine/settings.json")']],
    ])("refuses %s", (_, files, messages) => {
        expect(problemsOf({ "stagewise:backups": JSON.stringify({ configFiles: files }) })).toEqual(messages);
    });

    test("accepts files inside the project", () => {
        expect(problemsOf({ "stagewise:backups": JSON.stringify({ configFiles: ["engine/settings.json", "./a/../b.conf"] }) })).toEqual([]);
    });
});

describe("platform.dataRoot", () => {
    test.each<[string, string]>([
        ["/", `platform.dataRoot: "/" is the file-system root (${OWN_FOLDER})`],
        ["//", `platform.dataRoot: "//" is the file-system root (${OWN_FOLDER})`],
        ["/etc", `platform.dataRoot: "/etc" is the system folder /etc (${OWN_FOLDER})`],
        ["/etc/postgresql/", `platform.dataRoot: "/etc/postgresql/" is inside the system folder /etc (${OWN_FOLDER})`],
        ["/usr/local/data", `platform.dataRoot: "/usr/local/data" is inside the system folder /usr (${OWN_FOLDER})`],
        ["/lib64", `platform.dataRoot: "/lib64" is the system folder /lib64 (${OWN_FOLDER})`],
        ["/proc/self", `platform.dataRoot: "/proc/self" is inside the system folder /proc (${OWN_FOLDER})`],
        ["/var", `platform.dataRoot: "/var" is the system folder /var (${OWN_FOLDER})`],
        ["/var/lib/", `platform.dataRoot: "/var/lib/" is the system folder /var/lib (${OWN_FOLDER})`],
        ["/srv/../home", `platform.dataRoot: "/srv/../home" is the system folder /home (${OWN_FOLDER})`],
        ["/root", `platform.dataRoot: "/root" is the system folder /root (${OWN_FOLDER})`],
        ["/tmp", `platform.dataRoot: "/tmp" is the system folder /tmp (${OWN_FOLDER})`],
        ["/run", `platform.dataRoot: "/run" is the system folder /run (${OWN_FOLDER})`],
        ["/srv/data\u0000", `platform.dataRoot: "/srv/data\\u0000" contains a control character (${OWN_FOLDER})`],
        ["", "platform.dataRoot: is empty (use a path)"],
    ])("refuses %j", (dataRoot, message) => {
        expect(problemsOf({ "stagewise:platform": JSON.stringify({ kind: "local", dataRoot }) })).toEqual([message]);
    });

    test.each(["/srv/stagewise/prod", "/var/lib/stagewise/prod", path.join(os.tmpdir(), "stagewise-e2e", "data"), "/home/ops/data", "data", "../data"])("accepts %s", (dataRoot) => {
        expect(problemsOf({ "stagewise:platform": JSON.stringify({ kind: "local", dataRoot }) })).toEqual([]);
    });
});

describe("where the files are read", () => {
    const MARKER = "SECRET-CONTENT-4711";
    let root: string;
    let project: string;
    const config = (adminObjects: string) => {
        const result = parseStageConfig({ ...valid, "stagewise:adminObjects": adminObjects }, new Set());
        if (!result.ok) {
            throw new Error(result.problems.join("\n"));
        }
        return result.config as StageConfig;
    };
    const planProblem = (adminObjects: string) => {
        try {
            planAdminObjects(config(adminObjects), undefined, project);
            return "no problem";
        } catch (err) {
            return (err as Error).message;
        }
    };

    beforeAll(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-paths-"));
        project = path.join(root, "project");
        fs.mkdirSync(path.join(project, "admin", "nested"), { recursive: true });
        fs.writeFileSync(path.join(root, "outside.json"), `{"processes": {"${MARKER}": 1}}`);
        fs.writeFileSync(path.join(project, "settings.json"), "{}");
        fs.symlinkSync(path.join(root, "outside.json"), path.join(project, "admin", "escape.json"));
        fs.symlinkSync(path.join(project, "settings.json"), path.join(project, "admin", "sideways.json"));
        fs.symlinkSync(root, path.join(project, "linked"));
        fs.writeFileSync(path.join(project, "admin", "garbage.json"), `root:${MARKER}:0:0`);
        fs.writeFileSync(path.join(project, "admin", "trailing.json"), `{\n  "processes": {},\n  "${MARKER}": 1,\n}`);
        fs.writeFileSync(path.join(project, "admin", "cut.json"), `{"processes": {"a": {"version": 1, "${MARKER}`);
        fs.writeFileSync(path.join(project, "admin", "empty.json"), "");
        fs.writeFileSync(path.join(project, "admin", "ok.json"), JSON.stringify({ processes: { a: { version: 1, recoveryLevel: "none", steps: ["s"] } } }));
    });
    afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

    test.each<[string, string]>([
        ["admin/escape.json", "adminObjects: admin/escape.json leads outside the project's admin/ folder through a symbolic link; refusing to read it"],
        ["admin/sideways.json", "adminObjects: admin/sideways.json leads outside the project's admin/ folder through a symbolic link; refusing to read it"],
        ["admin/missing.json", "adminObjects: admin/missing.json does not exist (paths are relative to the project folder)"],
        ["admin/nested", "adminObjects: admin/nested is not a file"],
        ["admin/garbage.json", "adminObjects: admin/garbage.json is not valid JSON (line 1, column 1)"],
        ["admin/trailing.json", "adminObjects: admin/trailing.json is not valid JSON (line 4, column 1)"],
        ["admin/cut.json", "adminObjects: admin/cut.json is not valid JSON (line 1, column 36)"], // where the unended string starts
        ["admin/empty.json", "adminObjects: admin/empty.json is not valid JSON (line 1, column 1)"],
        ["admin/ok.json", "no problem"],
    ])("planAdminObjects(%s): %s", (file, message) => {
        expect(planProblem(file)).toBe(message);
        expect(message).not.toContain(MARKER);
    });

    test.each<[string, string, string]>([
        ["linked/outside.json", "", "linked/outside.json leads outside the project folder through a symbolic link; refusing to read it"],
        ["admin/sideways.json", "", "file:settings.json"],
        ["settings.json", "", "file:settings.json"],
        ["nothing.json", "", "nothing.json does not exist (paths are relative to the project folder)"],
    ])("projectFile(%s)", (relative, folder, expected) => {
        const found = projectFile(project, relative, folder);
        expect("file" in found ? `file:${path.relative(fs.realpathSync(project), found.file)}` : found.problem).toBe(expected);
    });

    test("a restore refuses, before anything changes, to write back a file recorded outside the stage's configFiles", async () => {
        const setsDir = path.join(root, "backups");
        const id = "20260101T000000000Z";
        fs.mkdirSync(path.join(setsDir, id, "config"), { recursive: true });
        const set = { id, mode: "offline", safety: false, takenAt: "", finishedAt: "", bytes: 0, verified: true, servers: {}, configFiles: [path.join(project, "settings.json"), "/etc/hostname"] };
        fs.writeFileSync(path.join(setsDir, id, "stagewise-backup-set.json"), JSON.stringify(set));
        const restore = restoreBackupSet({ id, setsDir, servers: [], configFiles: [path.join(project, "settings.json")], units: [], ownerRole: "engine" });
        await expect(restore).rejects.toThrow(
            `backup ${id} would write /etc/hostname back, which is not one of this stage's backups.configFiles (files inside the project); ` +
                "refusing to restore it (list the file in backups.configFiles, or restore another backup)",
        );
        expect(fs.readFileSync(path.join(project, "settings.json"), "utf8")).toBe("{}");
    });
});
