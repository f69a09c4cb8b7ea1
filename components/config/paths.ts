// Paths the stack configuration names: files the project reads stay inside the folders where they
// belong, and a data root is never a system folder. The schemas judge the text as written; where a
// file is read, `projectFile` resolves symbolic links and checks again (a link inside the project can
// point anywhere). Messages show the path, never anything read from a file.
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { CONTROL, expect, show } from "./primitives";


/** What is wrong with a project-relative file path, as written, or undefined; `folder` is "" for the project folder itself. */
export function relativePathProblem(text: string, folder: string, example: string): string | undefined {
    const inside = folder === "" ? "inside the project folder" : `inside the project's ${folder}/ folder`;
    const allowed = `use a path ${inside}, such as ${JSON.stringify(example)}`;
    if (text === "") {
        return `is empty (${allowed})`;
    }
    if (CONTROL.test(text)) {
        return `${show(text)} contains a control character (${allowed})`;
    }
    if (path.posix.isAbsolute(text)) {
        return `${show(text)} is an absolute path (${allowed})`;
    }
    const normal = path.posix.normalize(text);
    if (normal === ".." || normal.startsWith("../")) {
        return `${show(text)} climbs out of the project (${allowed})`;
    }
    const within = folder === "" ? normal : path.posix.relative(folder, normal);
    if (within === "" || within === "." || within === ".." || within.startsWith("../")) {
        return `${show(text)} is not a file ${inside} (${allowed})`;
    }
    return undefined;
}

const projectRelative = (what: string, folder: string, example: string) =>
    z.string({ error: expect(what, `use a path such as ${JSON.stringify(example)}`) }).superRefine((text, ctx) => {
        const problem = relativePathProblem(text, folder, example);
        if (problem !== undefined) {
            ctx.addIssue({ code: "custom", message: problem, input: text });
        }
    });

/** Folder that holds the admin objects file: the admin model alone, so no other project file (a stack's config, package.json) is ever fed to its parser. */
export const ADMIN_FOLDER = "admin";

/** `adminObjects`: a file inside the project's admin/ folder. */
export const adminObjectsPath = projectRelative("a file", ADMIN_FOLDER, "admin/objects.json");

/** One of `backups.configFiles`: a file inside the project folder. */
export const configFilePath = projectRelative("a file", "", "engine/settings.json");

/** System folders whose every sub-folder is the system's too (and /lib, /lib64, /libx32...). */
const SYSTEM_TREES = ["/etc", "/usr", "/bin", "/sbin", "/boot", "/dev", "/proc", "/sys"];
/** Folders that hold other folders of their own: refused themselves, a folder inside is fine (/var/lib/stagewise, a folder in the temporary folder). */
const SYSTEM_FOLDERS = ["/", "/run", "/var", "/var/lib", "/home", "/root", "/tmp"];

/** What is wrong with a data root as written, or undefined. A relative one is judged where it is resolved (the DataRoot provider). */
export function dataRootProblem(text: string): string | undefined {
    const allowed = 'use a folder of its own, e.g. "/srv/stagewise/prod" or ".stagewise/prod"';
    if (text === "") {
        return "is empty (use a path)";
    }
    if (CONTROL.test(text)) {
        return `${show(text)} contains a control character (${allowed})`;
    }
    if (SHELL_QUOTED.test(text)) {
        return `${show(text)} contains " $ \` or \\, which pg_ctl's shell would read (${allowed})`;
    }
    if (!path.posix.isAbsolute(text)) {
        return undefined;
    }
    const folder = path.posix.resolve(text);
    if (folder === "/") {
        return `${show(text)} is the file-system root (${allowed})`;
    }
    const tree = `/${folder.split("/")[1]}`; // every system tree is a top-level folder
    if (SYSTEM_TREES.includes(tree) || /^\/lib/.test(tree)) {
        return `${show(text)} is ${folder === tree ? "" : "inside "}the system folder ${tree} (${allowed})`;
    }
    if (SYSTEM_FOLDERS.includes(folder)) {
        return `${show(text)} is the system folder ${folder} (${allowed})`;
    }
    return undefined;
}

// pg_ctl starts postgres through /bin/sh with its paths in double quotes: inside them these still act.
const SHELL_QUOTED = /["$`\\]/;

/** `platform.binDir`: a folder of programs, without what pg_ctl's shell would read. */
export const programFolder = z.string({ error: expect("a folder", "use a path") }).refine((text) => !CONTROL.test(text) && !SHELL_QUOTED.test(text), {
    error: (issue) => `${show(issue.input)} contains a control character, " $ \` or \\, which pg_ctl's shell would read (use the folder holding initdb and pg_ctl, e.g. /usr/lib/postgresql/15/bin)`,
});

/** `platform.dataRoot` of the local platform. */
export const dataRootPath = z.string({ error: expect("a folder", "use a path") }).superRefine((text, ctx) => {
    const problem = dataRootProblem(text);
    if (problem !== undefined) {
        ctx.addIssue({ code: "custom", message: problem, input: text });
    }
});

/**
 * Resolves `relative` (already valid by the schemas above) in `projectDir` and follows every symbolic
 * link: the real file must lie inside `folder` of the project ("" for the project folder). Returns its
 * real path, or a problem naming `relative` only (never the link's target, never the content).
 */
export function projectFile(projectDir: string, relative: string, folder: string): { file: string } | { problem: string } {
    const inside = folder === "" ? "the project folder" : `the project's ${folder}/ folder`;
    let real: string;
    try {
        real = fs.realpathSync(path.resolve(projectDir, relative));
    } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        return { problem: code === "ENOENT" ? `${relative} does not exist (paths are relative to the project folder)` : `${relative} cannot be read (${code ?? "error"})` };
    }
    const root = path.join(fs.realpathSync(projectDir), folder);
    if (!real.startsWith(root + path.sep)) {
        return { problem: `${relative} leads outside ${inside} through a symbolic link; refusing to read it` };
    }
    if (!fs.statSync(real).isFile()) {
        return { problem: `${relative} is not a file` };
    }
    return { file: real };
}
