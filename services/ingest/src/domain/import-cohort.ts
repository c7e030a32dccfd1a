// Import of a cohort as one dataset artifact: list, then subject by subject decode, validate,
// de-identify, reorient, slice; volumes and full slice shards go to storage as they are made, so memory
// stays at one subject + one shard per split. manifest.json is written last: until then nothing is
// visible, and a failure (or cancel) aborts and removes what was written.
import { type ArtifactStore, FailedPrecondition, InvalidInput, type JobProgress } from "@synthmri/platform";
import {
  type CohortListing,
  DATASET_CHANNELS,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  type DatasetFields,
  DatasetShardWriter,
  type DatasetSplit,
  type DatasetSubject,
  defaultLabelScheme,
  detectLayout,
  formatProblem,
  type LabelScheme,
  listCohort,
  prepareSubject,
  ROLES,
  type Role,
  resizeBatch,
  type SubjectFiles,
  type SubjectProblem,
  splitSubjects,
  voxelSizes,
} from "@synthmri/volume";
import type { CohortSource, PreparedSubjectData, PrepareKey } from "./cohort-source.js";
import { type ImportParams, sliceParamsOf, splitSeedOf, testFractionOf } from "./params.js";

export interface SkippedSubject {
  /** the operator's own name for the subject (reported to them, never stored in the dataset) */
  sourceName: string;
  file: string;
  reason: string;
}

export interface ImportReport {
  datasetId: string;
  subjectsImported: number;
  skipped: SkippedSubject[];
  trainSlices: number;
  testSlices: number;
  bytesRead: number;
  seconds: number;
  manifest: { bucket: string; key: string; sha256: string; size: number };
}

export interface ImportDeps {
  artifacts: ArtifactStore;
  /** de-identification salt (config DEID_SALT or the data dir's) */
  salt: string;
  /** zlib level of stored volumes (default 6) */
  gzipLevel?: number;
}

export interface ImportPlan {
  listing: CohortListing;
  subjects: SubjectFiles[];
  scheme: LabelScheme;
  /** subject ids are already salted hashes (upload sessions): do not hash again */
  preHashed: boolean;
}

/** Lists the source and decides the layout and subjects: cheap, so the RPC can fail before a job starts. */
export async function planImport(source: CohortSource, params: ImportParams): Promise<ImportPlan> {
  const paths = await source.list();
  if (paths.length === 0) throw new InvalidInput(`${source.description} holds no files`);
  let manifest: { name: string; text: string } | undefined;
  if (params.manifestPath) {
    if (!paths.includes(params.manifestPath)) {
      throw new InvalidInput(`manifest ${params.manifestPath} not found in ${source.description}`);
    }
    manifest = {
      name: params.manifestPath,
      text: Buffer.from(await source.read(params.manifestPath)).toString("utf8"),
    };
  } else if (params.layout === "manifest" || (params.layout === "auto" && detectLayout(paths) === "manifest")) {
    const found = paths.find((p) => /(^|\/)(manifest|cohort|subjects)\.(csv|json)$/i.test(p));
    if (!found)
      throw new InvalidInput(
        `${source.description}: layout manifest needs a manifest.csv/manifest.json (or manifest_path)`,
      );
    manifest = { name: found, text: Buffer.from(await source.read(found)).toString("utf8") };
  }
  const listing = listCohort(paths, { layout: params.layout, manifest });
  let subjects = listing.subjects;
  if (subjects.length === 0)
    throw new InvalidInput(`${source.description}: no subjects found for layout ${listing.layout}`);
  if (params.maxSubjects > 0) subjects = subjects.slice(0, params.maxSubjects);
  const preHashed = params.source.kind === "upload";
  return { listing, subjects, scheme: params.labelScheme ?? defaultLabelScheme(listing.layout), preHashed };
}

export interface ImportRun {
  signal: AbortSignal;
  progress(p: JobProgress): void;
}

type Prepared = { ok: true; value: PreparedSubjectData } | { ok: false; problems: SubjectProblem[]; bytesRead: number };

/**
 * One subject ready for the dataset: what the source already prepared with these very parameters (an upload
 * session: UploadSubject did it), else read its files and prepare it here. Each subject is prepared once.
 */
async function prepareForImport(
  deps: ImportDeps,
  source: CohortSource,
  plan: ImportPlan,
  s: SubjectFiles,
  key: PrepareKey,
): Promise<Prepared> {
  const kept = await source.readPrepared?.(s.subject, key);
  if (kept) return { ok: true, value: kept };
  const files: Partial<Record<Role, { name: string; bytes: Uint8Array }>> = {};
  let bytesRead = 0;
  for (const r of ROLES) {
    const path = s.files[r];
    if (!path || s.missing.includes(r)) continue;
    try {
      const bytes = await source.read(path);
      bytesRead += bytes.length;
      files[r] = { name: path, bytes };
    } catch (e) {
      if (!(e instanceof InvalidInput) && (e as { kind?: string }).kind !== "NotFound") throw e;
      return { ok: false, problems: [{ subject: s.subject, file: path, reason: (e as Error).message }], bytesRead };
    }
  }
  const prepared = prepareSubject(s.subject, files, {
    scheme: key.scheme,
    salt: plan.preHashed ? undefined : deps.salt,
    slice: key.slice,
    gzipLevel: key.gzipLevel,
  });
  if (!prepared.ok) return { ...prepared, bytesRead };
  const v = prepared.value;
  return {
    ok: true,
    value: {
      storedId: v.storedId,
      volumes: v.volumes,
      shape: v.subject.shape,
      affine: v.subject.affine,
      batch: v.slices.batch,
      bytesRead,
    },
  };
}

export async function runImport(
  deps: ImportDeps,
  source: CohortSource,
  params: ImportParams,
  plan: ImportPlan,
  run: ImportRun,
): Promise<ImportReport> {
  const started = Date.now();
  const { artifacts } = deps;
  // A resumed job (same dataset id) first removes what its previous attempt left.
  await artifacts.objects.deletePrefix(`dataset/${params.datasetId}/`);
  const writer = await artifacts.beginArtifact("dataset", params.datasetId);
  const identityKey = `private/identity/${params.datasetId}.json`;
  try {
    const sourceNames = plan.subjects.map((s) => s.subject);
    const split = splitSubjects(sourceNames, {
      seed: splitSeedOf(params.split.seed),
      testFraction: testFractionOf(params.split, sourceNames.length),
    });
    const testSet = new Set(split.test);
    const shards = new DatasetShardWriter(writer, {
      shardSlices: params.preprocessing.shardSlices || undefined,
    });
    const sliceParams = sliceParamsOf(params);
    const prepareKey: PrepareKey = { scheme: plan.scheme, slice: sliceParams, gzipLevel: deps.gzipLevel ?? 6 };
    let size = params.preprocessing.size;
    const subjects: DatasetSubject[] = [];
    const skipped: SkippedSubject[] = [];
    const identity: Record<string, string> = {};
    let bytesRead = 0;
    const total = plan.subjects.length;

    for (let i = 0; i < total; i++) {
      run.signal.throwIfAborted();
      const s = plan.subjects[i];
      const prepared = await prepareForImport(deps, source, plan, s, prepareKey);
      bytesRead += prepared.ok ? prepared.value.bytesRead : prepared.bytesRead;
      let outcome: string;
      if (!prepared.ok) {
        if (params.onError !== "skip") {
          throw new InvalidInput(
            `${prepared.problems.map(formatProblem).join("; ")} (fix the files, or import with on_error=skip to leave the subject out)`,
          );
        }
        for (const p of prepared.problems)
          skipped.push({ sourceName: s.subject, file: p.file ?? "", reason: p.reason });
        outcome = "skipped";
      } else {
        const v = prepared.value;
        const key = v.storedId;
        const splitName: DatasetSplit = testSet.has(s.subject) ? "test" : "train";
        const volumes: Partial<Record<Role, string>> = {};
        await Promise.all(
          ROLES.map(async (r) => {
            const path = `volumes/${key}/${r}.nii.gz`;
            volumes[r] = path;
            await writer.putFile(path, v.volumes[r], { contentType: "application/gzip" });
          }),
        );
        let batch = v.batch;
        if (size === 0) size = batch.height;
        if (batch.count > 0 && batch.height !== size) batch = resizeBatch(batch, size);
        await shards.add(splitName, batch);
        subjects.push({
          key,
          split: splitName,
          shape: [...v.shape],
          affine: v.affine.map((row) => [...row]),
          spacing: voxelSizes(v.affine),
          sliceCount: batch.count,
          volumes,
        });
        if (params.keepIdentityMapping && !plan.preHashed) identity[key] = s.subject;
        outcome = `imported ${key} (${batch.count} slices, ${splitName})`;
      }
      const done = i + 1;
      const seconds = (Date.now() - started) / 1000;
      const mbPerSecond = seconds > 0 ? bytesRead / 1e6 / seconds : 0;
      run.progress({
        fraction: done / total,
        phase: "import",
        message: `subject ${done}/${total}: ${outcome}`,
        metrics: {
          done,
          total,
          imported: subjects.length,
          skipped: skipped.length ? new Set(skipped.map((k) => k.sourceName)).size : 0,
          bytesRead,
          mbPerSecond,
        },
        etaSeconds: done < total ? (seconds / done) * (total - done) : 0,
      });
    }
    run.signal.throwIfAborted();
    if (subjects.length === 0) {
      throw new FailedPrecondition(
        `no subject of ${source.description} could be imported (${skipped.length} problems; first: ${skipped[0] ? `${skipped[0].sourceName}: ${skipped[0].reason}` : "none"})`,
      );
    }
    const written = await shards.finish();
    if (params.keepIdentityMapping && !plan.preHashed) {
      await artifacts.objects.putObject(
        identityKey,
        JSON.stringify({ datasetId: params.datasetId, keyToSource: identity }),
        {
          contentType: "application/json",
        },
      );
    }
    const imported = new Set(subjects.map((s) => s.key));
    const fields: DatasetFields = {
      format: DATASET_FORMAT,
      formatVersion: DATASET_FORMAT_VERSION,
      name: params.name || `import ${params.datasetId}`,
      origin: "real",
      sourceLayout: plan.preHashed ? "upload" : plan.listing.layout,
      labelScheme: plan.scheme,
      sliceShape: written.sliceShape ?? [size, size, DATASET_CHANNELS.length],
      channels: DATASET_CHANNELS,
      maskValues: { NCR: sliceParams.labelValues[0], ED: sliceParams.labelValues[1], ET: sliceParams.labelValues[2] },
      preprocessing: { ...sliceParams, size },
      split: {
        seed: split.seed,
        testFraction: split.testFraction,
        train: subjects.filter((s) => s.split === "train" && imported.has(s.key)).map((s) => s.key),
        test: subjects.filter((s) => s.split === "test" && imported.has(s.key)).map((s) => s.key),
      },
      subjects,
      shards: written.shards,
      sliceCounts: written.sliceCounts,
      labels: params.labels,
    };
    const { ref } = await writer.commit({
      params: {
        layout: plan.listing.layout,
        labelScheme: plan.scheme,
        onError: params.onError,
        split: params.split,
        preprocessing: params.preprocessing,
        maxSubjects: params.maxSubjects,
      },
      provenance: { jobKind: "import", deidentified: true, salted: !plan.preHashed },
      extra: fields,
    });
    return {
      datasetId: params.datasetId,
      subjectsImported: subjects.length,
      skipped,
      trainSlices: written.sliceCounts.train,
      testSlices: written.sliceCounts.test,
      bytesRead,
      seconds: (Date.now() - started) / 1000,
      manifest: ref,
    };
  } catch (e) {
    await writer.abort().catch(() => undefined);
    await artifacts.objects.deleteObject(identityKey).catch(() => undefined);
    throw e;
  }
}
