// GAN checkpoints in the object store: every save is one committed `gan-checkpoint` artifact
// `<ganId>.i<images, 12 digits>` holding the full training state (state.ckpt: weights, Adam moments, Rng
// states, growth, image count), the quality figures of that moment (quality.json: Laplacian SWD) and a sample
// grid (samples.png) and the training curves since the previous checkpoint (history.json). The manifest is written last, so a process killed mid-save leaves no checkpoint
// behind and the next run resumes from the previous one. Ids sort by image count: the latest is the last.
import { type CheckpointStore, type GanCheckpoint, Rng, type SliceSource, tf, toProductLayout } from "@synthmri/ml";
import { laplacianSwd, sampleGrid } from "@synthmri/eval";
import { type ArtifactStore, InvalidInput, type Manifest, type ObjectRef, type ObjectStore } from "@synthmri/platform";
import { type CheckpointView, type LoadedGenerator, viewCheckpoint } from "./families.js";
import { toUint8 } from "./images.js";

export const CHECKPOINT_KIND = "gan-checkpoint";
export const STATE_FILE = "state.ckpt";

export interface CheckpointFields {
  ganId: string;
  ensembleId: string;
  member: number;
  seed: number;
  datasetId: string;
  family: string;
  images: number;
  kimg: number;
  /** Side of the images the generator makes at this checkpoint (grows during PGAN training). */
  resolution: number;
  finalResolution: number;
  level: number;
  alpha: number;
  /** Laplacian-pyramid SWD x 1e3 (mean over levels), generated vs real at this resolution. */
  swd: number | null;
  /** True once training reached its total image count. */
  final: boolean;
}

export type CheckpointManifest = Manifest<CheckpointFields>;

export function checkpointId(ganId: string, images: number): string {
  return `${ganId}.i${String(images).padStart(12, "0")}`;
}

/** Header of a checkpoint without decoding its arrays (growth, images, config). */
export function checkpointHeader(bytes: Uint8Array): GanCheckpoint {
  const magic = "SYNTHMRI-GAN-CKPT-1\n";
  const head = new TextDecoder().decode(bytes.subarray(0, magic.length));
  if (head !== magic) throw new InvalidInput("not a synthmri GAN checkpoint (bad magic)");
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = dv.getUint32(magic.length, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(magic.length + 8, magic.length + 8 + len)));
}

/** Ids of a GAN's committed checkpoints, oldest first. */
export async function listCheckpoints(store: ObjectStore, artifacts: ArtifactStore, ganId: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const prefix of store.listPrefixes(`${CHECKPOINT_KIND}/${ganId}.i`)) {
    ids.push(prefix.slice(CHECKPOINT_KIND.length + 1, -1));
  }
  ids.sort();
  const out: string[] = [];
  for (const id of ids) if (await artifacts.tryGetManifest(CHECKPOINT_KIND, id)) out.push(id);
  return out;
}

export interface LatestCheckpoint {
  id: string;
  manifest: CheckpointManifest;
  ref: ObjectRef;
}

export async function latestCheckpoint(
  store: ObjectStore,
  artifacts: ArtifactStore,
  ganId: string,
): Promise<LatestCheckpoint | undefined> {
  const ids: string[] = [];
  for await (const prefix of store.listPrefixes(`${CHECKPOINT_KIND}/${ganId}.i`)) {
    ids.push(prefix.slice(CHECKPOINT_KIND.length + 1, -1));
  }
  ids.sort().reverse();
  for (const id of ids) {
    const manifest = await artifacts.tryGetManifest<CheckpointFields>(CHECKPOINT_KIND, id);
    if (manifest) return { id, manifest, ref: await artifacts.manifestRef(CHECKPOINT_KIND, id) };
  }
  return undefined;
}

/** The generator of a checkpoint (any family), ready to sample (caller disposes). */
export async function loadCheckpointModel(artifacts: ArtifactStore, id: string): Promise<LoadedGenerator> {
  const bytes = await artifacts.readFile(CHECKPOINT_KIND, id, STATE_FILE);
  return viewCheckpoint(new Uint8Array(bytes)).model();
}

export interface QualitySettings {
  /** Images compared for the SWD (generated and real, each). */
  swdImages: number;
  nhoodsPerImage: number;
  dirsPerRepeat: number;
  dirRepeats: number;
  /** Samples in the grid PNG. */
  gridSamples: number;
}

/** Small settings: SWD in pure JS is expensive (see packages/ml quality report). */
export const DEFAULT_QUALITY: QualitySettings = {
  swdImages: 64,
  nhoodsPerImage: 32,
  dirsPerRepeat: 32,
  dirRepeats: 2,
  gridSamples: 8,
};

export interface QualityResult {
  swd: number;
  grid: Buffer;
}

/** SWD x 1e3 and a sample grid of a checkpoint's generator at its growth point, with an Rng of their own. */
export async function measureCheckpoint(
  view: CheckpointView,
  data: SliceSource,
  settings: QualitySettings,
): Promise<QualityResult> {
  const model = view.model();
  const rng = new Rng((view.seed * 2654435761 + 0x5eed) >>> 0);
  const n = Math.max(2, Math.min(settings.swdImages, data.count));
  const reals = view.reals(await data.read(Array.from({ length: n }, () => rng.int(data.count))), n);
  const latent = model.config.latentSize;
  const z = tf.tensor2d(rng.fillNormal(new Float32Array(n * latent)), [n, latent]);
  const fake = tf.tidy(() => model.generate(z).clipByValue(-1, 1) as tf.Tensor4D);
  try {
    const swd = await laplacianSwd({
      nhoodsPerImage: settings.nhoodsPerImage,
      dirsPerRepeat: settings.dirsPerRepeat,
      dirRepeats: settings.dirRepeats,
      seed: 0,
    })(fake, reals);
    const [, h, w, c] = fake.shape;
    const k = Math.min(settings.gridSamples, n);
    // Awaited read: backends without synchronous downloads (webgpu) can train too.
    const product = toProductLayout(((await fake.data()) as Float32Array).slice(0, k * h * w * c), model.config);
    const pc = model.config.channels;
    const grid = sampleGrid({ data: toUint8(product.images, product.labels, pc), n: k, h, w, c: pc }, { columns: 2 });
    return { swd: swd * 1e3, grid };
  } finally {
    tf.dispose([reals, z, fake]);
    model.dispose();
  }
}

export interface CheckpointContext {
  artifacts: ArtifactStore;
  store: ObjectStore;
  ganId: string;
  ensembleId: string;
  member: number;
  seed: number;
  datasetId: string;
  datasetRef: ObjectRef;
  totalImages: number;
  data: SliceSource;
  quality: QualitySettings;
  provenance: Record<string, unknown>;
  /** The curve points since the previous checkpoint, written as history.json (domain/history.ts). */
  history?: (fields: CheckpointFields) => unknown;
  /** Called after each committed checkpoint (logs, progress). */
  onSaved?: (fields: CheckpointFields, ref: ObjectRef) => void;
}

/** The training loop's CheckpointStore over the object store. */
export function artifactCheckpoints(ctx: CheckpointContext): CheckpointStore {
  return {
    async save(bytes: Uint8Array) {
      const view = viewCheckpoint(bytes);
      const q = await measureCheckpoint(view, ctx.data, ctx.quality);
      const fields: CheckpointFields = {
        ganId: ctx.ganId,
        ensembleId: ctx.ensembleId,
        member: ctx.member,
        seed: ctx.seed,
        datasetId: ctx.datasetId,
        family: view.family,
        images: view.images,
        kimg: view.images / 1000,
        resolution: view.resolution,
        finalResolution: view.finalResolution,
        level: view.level,
        alpha: view.alpha,
        swd: Number.isFinite(q.swd) ? q.swd : null,
        final: view.images >= ctx.totalImages,
      };
      const id = checkpointId(ctx.ganId, view.images);
      const existing = await ctx.artifacts.tryGetManifest(CHECKPOINT_KIND, id);
      if (existing) return; // the same state was committed before a restart: identical by construction
      const w = await ctx.artifacts.beginArtifact(CHECKPOINT_KIND, id);
      try {
        await w.putFile(STATE_FILE, bytes, { contentType: "application/octet-stream" });
        await w.putJson("quality.json", {
          kimg: fields.kimg,
          resolution: fields.resolution,
          swd: fields.swd,
          swdUnits: "x1e3",
        });
        await w.putFile("samples.png", q.grid, { contentType: "image/png" });
        if (ctx.history) await w.putJson("history.json", ctx.history(fields));
        const { ref } = await w.commit({
          inputs: [ctx.datasetRef],
          params: { config: view.config, seed: ctx.seed, totalImages: ctx.totalImages },
          provenance: { ...ctx.provenance, seed: ctx.seed },
          extra: fields,
        });
        ctx.onSaved?.(fields, ref);
      } catch (e) {
        await w.abort().catch(() => undefined);
        throw e;
      }
    },
    async load() {
      const latest = await latestCheckpoint(ctx.store, ctx.artifacts, ctx.ganId);
      if (!latest) return undefined;
      return new Uint8Array(await ctx.artifacts.readFile(CHECKPOINT_KIND, latest.id, STATE_FILE));
    },
  };
}
