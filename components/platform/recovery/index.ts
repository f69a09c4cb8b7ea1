// Point-in-time recovery on the local platform: base backups, restore to one instant, the tail of
// the old primary's log and named restore points. Plain Node (no Pulumi).
export * from "./backups";
export * from "./restore";
export * from "./tailOfLog";
export * from "./cutover";
