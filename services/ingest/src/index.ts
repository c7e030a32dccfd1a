// @synthmri/ingest: the ingest service, importable by the CLI (in-process server) and tests.
export { build, type IngestServerDeps, INGEST_SERVICE, type RunningIngest, startServer } from "./server.js";
export type { ImportReport, SkippedSubject } from "./domain/import-cohort.js";
