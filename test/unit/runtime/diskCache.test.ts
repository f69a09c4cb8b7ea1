// runtime/diskCache.js: entries are found by key, and a folder past its limit keeps its newest half.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const diskCache = require("../../../runtime/diskCache") as {
    keyOf(parts: string[], extension: string): string;
    read(dir: string, key: string): string | undefined;
    write(dir: string, key: string, text: string, maxEntries?: number): void;
};

let dir: string;
beforeEach(() => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "stagewise-disk-cache-")), "entries");
});
afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

test("a key depends on every part and on where the parts split", () => {
    expect(diskCache.keyOf(["ab", "c"], ".js")).not.toBe(diskCache.keyOf(["a", "bc"], ".js"));
    expect(diskCache.keyOf(["ab", "c"], ".js")).toBe(diskCache.keyOf(["ab", "c"], ".js"));
    expect(diskCache.keyOf(["ab", "c"], ".js")).toMatch(/^[0-9a-f]{64}\.js$/);
});

test("what is written is read back whole; a missing key reads as undefined", () => {
    diskCache.write(dir, "one.js", "exports.one = 1;\n");
    expect(diskCache.read(dir, "one.js")).toBe("exports.one = 1;\n");
    expect(diskCache.read(dir, "two.js")).toBeUndefined();
    expect(fs.readdirSync(dir)).toEqual(["one.js"]); // no partial file left behind
});

test("a damaged entry reads as missing (and is made again), never as its damaged text", () => {
    diskCache.write(dir, "one.js", "exports.one = 1;\n");
    const file = path.join(dir, "one.js");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("1;", "2;"));
    expect(diskCache.read(dir, "one.js")).toBeUndefined();
    fs.writeFileSync(file, "exports.one = 1;\n"); // no hash line at all
    expect(diskCache.read(dir, "one.js")).toBeUndefined();
    diskCache.write(dir, "one.js", "exports.one = 1;\n");
    expect(diskCache.read(dir, "one.js")).toBe("exports.one = 1;\n");
});

test("past its limit the folder keeps its newest half", () => {
    for (let i = 1; i <= 5; i++) {
        diskCache.write(dir, `entry-${i}`, String(i), 10);
        const when = new Date(Date.UTC(2026, 0, i)); // distinct ages, oldest first
        fs.utimesSync(path.join(dir, `entry-${i}`), when, when);
    }
    diskCache.write(dir, "entry-6", "6", 5);
    expect(fs.readdirSync(dir).sort()).toEqual(["entry-5", "entry-6"]);
});
