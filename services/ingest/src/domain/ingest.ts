// The ingest service's domain facade: what handlers call. Storage, job runner and source openers are
// injected (server.ts builds them), so tests can run it on the embedded or the in-memory store.
import type { ArtifactStore, JobContext, JobRunner, Logger } from "@synthmri/platform";
import type { CohortSource } from "./cohort-source.js";
import { type ImportReport, planImport, runImport } from "./import-cohort.js";
import { checkImportParams, type ImportParams, type ImportSourceSpec } from "./params.js";
import { sessionLabelScheme } from "./upload-session.js";

export const IMPORT_JOB_KIND = "import";

export interface IngestDeps {
  artifacts: ArtifactStore;
  jobs: JobRunner;
  salt: string;
  logger: Logger;
  /** Opens a cohort source (directory, S3 prefix, upload session). */
  openSource(spec: ImportSourceSpec): Promise<CohortSource>;
  /** zlib level of stored volumes (default 6). */
  gzipLevel?: number;
  /** keep the identity mapping of every import (config KEEP_ID_MAPPING) */
  keepIdMapping?: boolean;
}

export class Ingest {
  constructor(readonly deps: IngestDeps) {}

  /**
   * Checks the request and lists the source (so a wrong path or an unknown layout fails the call at
   * once), then starts the import job. Returns the job id.
   */
  async startImport(params: ImportParams): Promise<string> {
    checkImportParams(params);
    if (this.deps.keepIdMapping) params = { ...params, keepIdentityMapping: true };
    if (params.source.kind === "upload" && !params.labelScheme) {
      params = {
        ...params,
        labelScheme: await sessionLabelScheme(this.deps.artifacts.objects, params.source.sessionId),
      };
    }
    const source = await this.deps.openSource(params.source);
    await planImport(source, params);
    return this.deps.jobs.start(IMPORT_JOB_KIND, params, (ctx) => this.importWork(ctx));
  }

  /** Job work; also the resume handler after a restart (it starts the import over under the same id). */
  importWork = async (ctx: JobContext<ImportParams>): Promise<ImportReport> => {
    const params = ctx.params;
    const source = await this.deps.openSource(params.source);
    const plan = await planImport(source, params);
    ctx.progress({
      fraction: 0,
      phase: "import",
      message: `0/${plan.subjects.length} subjects`,
      metrics: { done: 0, total: plan.subjects.length },
    });
    return runImport(
      { artifacts: this.deps.artifacts, salt: this.deps.salt, gzipLevel: this.deps.gzipLevel },
      source,
      params,
      plan,
      { signal: ctx.signal, progress: (p) => ctx.progress(p) },
    );
  };

  resumeHandlers() {
    return { [IMPORT_JOB_KIND]: this.importWork as (ctx: JobContext<never>) => Promise<unknown> };
  }
}
