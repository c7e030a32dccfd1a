// ImportDirectory: decode the request, start the import job, stream its status until it ends.
import { create } from "@bufbuild/protobuf";
import {
  type ImportDirectoryRequest,
  type ImportReport as PbImportReport,
  ImportReportSchema,
} from "@synthmri/contracts";
import { InvalidInput, type JobStatus, newArtifactId, SynthError } from "@synthmri/platform";
import {
  type CallContext,
  type JobResult,
  type JobStatusOptions,
  jobStatusToProto,
  labelSchemeFromProto,
} from "@synthmri/rpc";
import type { ImportReport } from "../domain/import-cohort.js";
import type { Ingest } from "../domain/ingest.js";
import { DEFAULT_PREPROCESSING, type ImportParams, type ImportSourceSpec } from "../domain/params.js";
import { foregroundSequenceFromProto, layoutFromProto, onErrorFromProto } from "./convert.js";

export function importParamsOf(req: ImportDirectoryRequest): ImportParams {
  let source: ImportSourceSpec;
  switch (req.source.case) {
    case "localPath":
      source = { kind: "local", path: req.source.value };
      break;
    case "s3Prefix":
      source = { kind: "s3", bucket: req.source.value.bucket, prefix: req.source.value.prefix };
      break;
    case "uploadSessionId":
      source = { kind: "upload", sessionId: req.source.value };
      break;
    default:
      throw new InvalidInput("ImportDirectory needs a source: local_path, s3_prefix or upload_session_id");
  }
  const pp = req.preprocessing;
  return {
    datasetId: newArtifactId(),
    source,
    layout: source.kind === "upload" ? "brats2020" : layoutFromProto(req.layout),
    manifestPath: req.manifestPath || undefined,
    labelScheme: labelSchemeFromProto(req.labelScheme),
    onError: onErrorFromProto(req.onError),
    name: req.name,
    split: {
      seed: req.split?.seed ?? 0,
      testCount: req.split?.testCount ?? 0,
      testFraction: req.split?.testFraction ?? 0,
    },
    preprocessing: {
      size: pp?.size ?? DEFAULT_PREPROCESSING.size,
      foregroundThreshold: pp?.foregroundThreshold || DEFAULT_PREPROCESSING.foregroundThreshold,
      minForegroundFraction: pp?.minForegroundFraction || DEFAULT_PREPROCESSING.minForegroundFraction,
      foregroundChannel:
        (pp && foregroundSequenceFromProto(pp.foregroundModality)) || DEFAULT_PREPROCESSING.foregroundChannel,
      shardSlices: pp?.shardSlices ?? 0,
    },
    keepIdentityMapping: req.keepIdentityMapping,
    maxSubjects: req.maxSubjects,
    labels: { ...req.labels },
  };
}

export function pbImportReport(r: ImportReport): PbImportReport {
  return create(ImportReportSchema, {
    datasetId: r.datasetId,
    subjectsImported: r.subjectsImported,
    skipped: r.skipped,
    trainSlices: r.trainSlices,
    testSlices: r.testSlices,
    bytesRead: BigInt(r.bytesRead),
    seconds: r.seconds,
    manifest: { ...r.manifest, size: BigInt(r.manifest.size), contentType: "application/json" },
  });
}

/**
 * An import job's report as { outputs, artifacts }: the dataset id by role ("dataset_id", as every service
 * names its outputs), the report's numbers under their earlier names (datasetId, subjectsImported, ...)
 * for clients that read those, and the dataset manifest.
 */
export function importJobResult(job: JobStatus): JobResult | undefined {
  if (job.kind !== "import" || !job.result) return undefined;
  const r = job.result as ImportReport;
  return {
    outputs: {
      dataset_id: r.datasetId,
      datasetId: r.datasetId,
      subjectsImported: String(r.subjectsImported),
      trainSlices: String(r.trainSlices),
      testSlices: String(r.testSlices),
      bytesRead: String(r.bytesRead),
      seconds: String(r.seconds),
    },
    artifacts: [r.manifest],
  };
}

/** How ingest's jobs read in JobService and the ImportDirectory stream: imports count subjects. */
export const INGEST_JOB_STATUS: JobStatusOptions = {
  unitOf: (kind) => (kind === "import" ? "subjects" : ""),
  resultOf: importJobResult,
};

/** A failed job's error, re-thrown so the call ends with the matching status (INVALID_ARGUMENT, ...). */
export function jobError(s: JobStatus): Error {
  const e = s.error ?? { kind: "Internal", message: s.message };
  if (s.state === "CANCELLED") return new SynthError("Cancelled", `import job ${s.id} was cancelled: ${s.message}`);
  if (e.kind === "Internal") return new Error(`import job ${s.id} failed: ${e.message}`);
  return new SynthError(e.kind as SynthError["kind"], e.message);
}

export function importHandlers(ingest: Ingest) {
  return {
    async *importDirectory(req: ImportDirectoryRequest, ctx: CallContext) {
      const jobId = await ingest.startImport(importParamsOf(req));
      let last: JobStatus | undefined;
      // Leaving the stream (client gone) does not cancel the job: it can be followed with WatchJob.
      for await (const s of ingest.deps.jobs.watch(jobId, { signal: ctx.signal })) {
        last = s;
        const report = s.state === "SUCCEEDED" && s.result ? pbImportReport(s.result as ImportReport) : undefined;
        yield { job: jobStatusToProto(s, INGEST_JOB_STATUS), report };
      }
      if (last && (last.state === "FAILED" || last.state === "CANCELLED")) throw jobError(last);
    },
  };
}
