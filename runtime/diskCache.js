// A folder of small files named by the hash of what they were made from, shared by the transpile and
// parse caches. A file is written aside and renamed, so a reader never sees half of one, and carries
// the hash of its own text, so a damaged one is ignored (and made again) rather than run; a folder
// that grows past its limit loses its oldest half. Any failure only means working without the cache.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const MAX_ENTRIES = 5000;

/** The root of stagewise's caches for the project at `root`: beside its dependencies, unless STAGEWISE_TRANSPILE_CACHE says otherwise. */
function cacheRoot(root) {
    return process.env.STAGEWISE_TRANSPILE_CACHE || path.join(root, "node_modules", ".cache", "stagewise-transpiled");
}

/** A file name for the given parts (joined unambiguously) plus `extension`. */
function keyOf(parts, extension) {
    const hash = crypto.createHash("sha256");
    for (const part of parts) {
        hash.update(part).update("\0");
    }
    return `${hash.digest("hex")}${extension}`;
}

const digest = (text) => crypto.createHash("sha256").update(text).digest("hex");

/** The text stored under `key`, or undefined when there is none or it is damaged. */
function read(dir, key) {
    let stored;
    try {
        stored = fs.readFileSync(path.join(dir, key), "utf8");
    } catch {
        return undefined;
    }
    const newline = stored.indexOf("\n");
    const text = stored.slice(newline + 1);
    return newline === 64 && stored.slice(0, 64) === digest(text) ? text : undefined;
}

function write(dir, key, text, maxEntries = MAX_ENTRIES) {
    try {
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, key);
        const partial = `${file}.${process.pid}.partial`;
        fs.writeFileSync(partial, `${digest(text)}\n${text}`);
        fs.renameSync(partial, file);
        trim(dir, maxEntries);
    } catch {
        // a read-only or full disk: carry on without the cache
    }
}

function trim(dir, maxEntries) {
    const names = fs.readdirSync(dir);
    if (names.length <= maxEntries) {
        return;
    }
    const byAge = names
        .map((name) => {
            try {
                return { name, mtime: fs.statSync(path.join(dir, name)).mtimeMs };
            } catch {
                return undefined; // removed by another process meanwhile
            }
        })
        .filter((entry) => entry !== undefined)
        .sort((a, b) => a.mtime - b.mtime);
    for (const { name } of byAge.slice(0, byAge.length - Math.floor(maxEntries / 2))) {
        fs.rmSync(path.join(dir, name), { force: true });
    }
}

module.exports = { cacheRoot, keyOf, read, write };
