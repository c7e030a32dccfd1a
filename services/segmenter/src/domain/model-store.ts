// seg-model artifacts: one artifact per model version, id "<modelId>.v<version>", holding the weights
// (config + float32 blob, see @synthmri/ml saveUNet), training history and the manifest (provenance,
// validation Dice, preprocessing). Versions never change once committed (manifest written last).
import type { ArtifactStore, Manifest, ObjectRef } from "@synthmri/platform";
import { InvalidInput, NotFound } from "@synthmri/platform";
import { SEG_MODEL_KIND, type SegModelFields, WEIGHTS_FILE } from "./types.js";

export type SegModelManifest = Manifest<SegModelFields>;

export function versionArtifactId(modelId: string, version: number): string {
  return `${modelId}.v${version}`;
}

export function parseVersionArtifactId(artifactId: string): { modelId: string; version: number } | null {
  const m = /^(.+)\.v(\d+)$/.exec(artifactId);
  return m ? { modelId: m[1], version: Number(m[2]) } : null;
}

export function checkModelId(modelId: string): void {
  if (!modelId) throw new InvalidInput("model_id is empty; list models with ListModels");
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$/.test(modelId))
    throw new InvalidInput(`model id "${modelId.slice(0, 120)}" is not a model id (letters, digits, "-", "_")`);
}

export class ModelStore {
  constructor(private readonly artifacts: ArtifactStore) {}

  async publish(
    fields: SegModelFields,
    weights: Uint8Array,
    history: unknown,
    meta: { inputs: ObjectRef[]; params: Record<string, unknown>; provenance: Record<string, unknown> },
  ): Promise<SegModelManifest> {
    const id = versionArtifactId(fields.model.id, fields.model.version);
    const existing = await this.artifacts.tryGetManifest<SegModelFields>(SEG_MODEL_KIND, id);
    if (existing) return existing; // a resumed job publishing what it already published
    const w = await this.artifacts.beginArtifact(SEG_MODEL_KIND, id);
    try {
      await w.putFile(WEIGHTS_FILE, weights);
      await w.putJson("history.json", history);
      const { manifest } = await w.commit<SegModelFields>({ ...meta, extra: fields });
      return manifest;
    } catch (e) {
      await w.abort().catch(() => undefined);
      throw e;
    }
  }

  /** Every committed version, newest model first. */
  async list(): Promise<{ modelId: string; version: number; artifactId: string }[]> {
    const all = await this.artifacts.listArtifacts(SEG_MODEL_KIND);
    const out: { modelId: string; version: number; artifactId: string; at: string }[] = [];
    for (const a of all) {
      const v = parseVersionArtifactId(a.id);
      if (v) out.push({ ...v, artifactId: a.id, at: a.committedAt.toISOString() });
    }
    return out
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : a.artifactId < b.artifactId ? -1 : 1))
      .map(({ modelId, version, artifactId }) => ({ modelId, version, artifactId }));
  }

  async latestVersion(modelId: string): Promise<number> {
    const versions = (await this.list()).filter((m) => m.modelId === modelId).map((m) => m.version);
    if (!versions.length)
      throw new NotFound(`model "${modelId}" not found; train one with TrainSegmenter or list models with ListModels`);
    return Math.max(...versions);
  }

  async manifest(modelId: string, version: number): Promise<SegModelManifest> {
    checkModelId(modelId);
    const m = await this.artifacts.tryGetManifest<SegModelFields>(SEG_MODEL_KIND, versionArtifactId(modelId, version));
    if (!m) {
      await this.latestVersion(modelId); // NotFound for an unknown model
      throw new NotFound(`model "${modelId}" has no version ${version}; ListModels shows its versions`);
    }
    return m;
  }

  async manifestRef(modelId: string, version: number): Promise<ObjectRef> {
    return this.artifacts.manifestRef(SEG_MODEL_KIND, versionArtifactId(modelId, version));
  }

  async weights(m: SegModelManifest): Promise<Uint8Array> {
    return this.artifacts.readFile(SEG_MODEL_KIND, m.id, m.model.weights);
  }
}
