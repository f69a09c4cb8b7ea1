// Copies production's engine databases onto a staging server (test or development): the first
// source runbook. Plain Node (no Pulumi), so a dynamic provider can call it: plain functions only, no
// classes and no module-level mutable state.
//
// - One consistent instant for every database: a PHYSICAL copy of the whole production cluster
//   (pg_basebackup, WAL streamed, a temporary slot only). Production is only read.
// - Made whole before it is served: the copy lands in `<serverDir>/pgdata.incoming`, gets the
//   staging server's identity on a temporary server tied to the copier's life (it never outlives it),
//   and is verified there; only then does the swap (two renames, journaled in
//   `<serverDir>/copy-journal.json`) put it in place. The second rename is the commit point: before
//   it, recovery puts the previous databases back; after it, pgdata is the complete copy (marked
//   COPY_COMPLETE_MARK) and recovery completes it. The staging server never serves the copy with
//   production's identity, whoever starts it, whenever the copier dies.
// - Verified: pg_verifybackup of the incoming files, then row counts and a content checksum of every
//   user table, computed on the snapshot and again once it carries the staging server's identity.
// - The staging server keeps its own identity: superuser and owner passwords (SCRAM verifiers), its
//   configuration files (stagewise.conf, pg_hba.conf, postgresql.conf, postgresql.auto.conf,
//   pg_ident.conf) and its own rows of the identity tables.
// Passwords travel in a file of mode 0600 (PGPASSFILE) or as SCRAM verifiers; never on a command line
// or in the environment of a program.
//
// The module is a folder of small files, one concept each:
// - types.ts: CopyRequest, CopyReport, TableFigures, RecoveryReport;
// - journal.ts: the copy journal, its phases, the folders of a copy (pgdata, pgdata.incoming, ...);
// - recovery.ts: recoverInterruptedCopy;
// - copy.ts: copyDatabases and its steps;
// - figures.ts: tableFigures (row counts and checksums) and their comparison;
// - identity.ts: the staging server's own passwords and identity rows;
// - incoming.ts: the incoming copy's configuration;
// - temporaryServer.ts: the server on the incoming copy, a child tied to the copier's life;
// - programs.ts: pg_basebackup and pg_verifybackup run as the server's OS user, the PGPASSFILE;
// - processes.ts: stray programs of an interrupted copy, servers running on a copy's folders.
// This file re-exports the public API; the rest stays internal to the folder.
export { copyDatabases } from "./copyDatabases";
export { tableFigures } from "./figures";
export { copyPathsOf, COPY_JOURNAL } from "./journal";
export type { CopyJournal, CopyPhase } from "./journal";
export { recoverInterruptedCopy } from "./copyRecovery";
export type { CopyReport, CopyRequest, RecoveryReport, TableFigures } from "./copyTypes";
