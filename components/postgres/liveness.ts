// Whether a process recorded earlier (by PID and start time) is still the same process: a PID alone
// can be reused once its process ends. Read from /proc (Linux).
import * as fs from "fs";

/** Start time of a process (clock ticks since boot, from /proc), or null when it is gone or unknown. */
export function processStartTime(pid: number): string | null {
    try {
        return startTimeOfStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return null;
    }
}

/** The start time in a /proc/<pid>/stat line (any host's), or null for a zombie or an empty line. */
export function startTimeOfStat(stat: string): string | null {
    if (stat === "") {
        return null;
    }
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); the start time is field 22. A zombie has ended.
    return fields[0] === "Z" ? null : (fields[19] ?? null);
}

/** Whether a process that started at `now` (null: gone) is the one recorded at `recorded` (null: any). */
export function sameProcess(now: string | null, recorded: string | null): boolean {
    return now !== null && (recorded === null || now === recorded);
}

export function processAlive(pid: number, startTime: string | null): boolean {
    return sameProcess(processStartTime(pid), startTime);
}
