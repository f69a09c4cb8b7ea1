// Whether a process recorded earlier (by PID and start time) is still the same process: a PID alone
// can be reused once its process ends. Read from /proc (Linux).
import * as fs from "fs";

/** Start time of a process (clock ticks since boot, from /proc), or null when it is gone or unknown. */
export function processStartTime(pid: number): string | null {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        // fields[0] is field 3 (state); the start time is field 22. A zombie has ended.
        return fields[0] === "Z" ? null : (fields[19] ?? null);
    } catch {
        return null;
    }
}

export function processAlive(pid: number, startTime: string | null): boolean {
    const now = processStartTime(pid);
    return now !== null && (startTime === null || now === startTime);
}
