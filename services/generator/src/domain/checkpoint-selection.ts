// Seed 001's sample selection: of a member's saved checkpoints, sample from the one whose generated images had the
// lowest SWD to the real training slices (the seed scored every saved tick after training and kept the best). The
// SWD of each checkpoint is the one measured when it was saved (checkpoints.ts), so choosing costs no generation.
// Only checkpoints at the member's final resolution compete: a growing PGAN's SWD at 8x8 is not comparable with
// one at 16x16 (and an 8x8 generator cannot serve a 16x16 dataset).
import type { ArtifactStore, ObjectStore } from "@synthmri/platform";
import { CHECKPOINT_KIND, type CheckpointFields, type LatestCheckpoint, listCheckpoints } from "./checkpoints.js";

export type CheckpointChoice = "latest" | "best-swd";

export interface CheckpointCandidate {
  id: string;
  kimg: number;
  resolution: number;
  finalResolution: number;
  swd: number | null;
}

/**
 * The candidate with the lowest finite SWD at the final resolution (the later one on a tie); undefined when no
 * candidate qualifies (the caller then keeps the latest).
 */
export function bestSwdCandidate(candidates: readonly CheckpointCandidate[]): CheckpointCandidate | undefined {
  let best: CheckpointCandidate | undefined;
  for (const c of candidates) {
    if (c.resolution !== c.finalResolution || c.swd === null || !Number.isFinite(c.swd)) continue;
    if (!best || c.swd < best.swd! || (c.swd === best.swd && c.kimg > best.kimg)) best = c;
  }
  return best;
}

/** The checkpoint of one member to sample from; `latest` is the member's latest committed checkpoint. */
export async function chooseCheckpoint(
  store: ObjectStore,
  artifacts: ArtifactStore,
  ganId: string,
  latest: LatestCheckpoint,
  choice: CheckpointChoice,
): Promise<LatestCheckpoint> {
  if (choice === "latest") return latest;
  const candidates: (CheckpointCandidate & { manifest: LatestCheckpoint["manifest"] })[] = [];
  for (const id of await listCheckpoints(store, artifacts, ganId)) {
    const manifest = await artifacts.tryGetManifest<CheckpointFields>(CHECKPOINT_KIND, id);
    if (!manifest) continue;
    const f = manifest;
    candidates.push({
      id,
      kimg: f.kimg,
      resolution: f.resolution,
      finalResolution: f.finalResolution,
      swd: f.swd,
      manifest,
    });
  }
  const best = bestSwdCandidate(candidates);
  if (!best || best.id === latest.id) return latest;
  const chosen = candidates.find((c) => c.id === best.id)!;
  return { id: chosen.id, manifest: chosen.manifest, ref: await artifacts.manifestRef(CHECKPOINT_KIND, chosen.id) };
}
