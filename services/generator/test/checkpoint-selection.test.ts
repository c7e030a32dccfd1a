// Seed 001's selection of the checkpoint with the best SWD: the pure choice, and the choice over committed
// checkpoint artifacts in an object store (only full-resolution checkpoints with an SWD compete).
import { ArtifactStore, MemoryObjectStore } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import { bestSwdCandidate, chooseCheckpoint } from "../src/domain/checkpoint-selection.js";
import { CHECKPOINT_KIND, type CheckpointFields, checkpointId, latestCheckpoint } from "../src/domain/checkpoints.js";

const c = (kimg: number, swd: number | null, resolution = 16) => ({
  id: `g.i${kimg}`,
  kimg,
  resolution,
  finalResolution: 16,
  swd,
});

describe("best-SWD checkpoint (seed 001)", () => {
  it("picks the lowest SWD at the final resolution, the later one on a tie, none without an SWD", () => {
    expect(bestSwdCandidate([c(1, 30), c(2, 12), c(3, 20)])?.kimg).toBe(2);
    // An 8x8 checkpoint of a growing PGAN has a lower SWD at its own size but cannot compete.
    expect(bestSwdCandidate([c(1, 1, 8), c(2, 12), c(3, 20)])?.kimg).toBe(2);
    expect(bestSwdCandidate([c(2, 12), c(4, 12)])?.kimg).toBe(4);
    expect(bestSwdCandidate([c(1, null), c(2, Number.NaN)])).toBeUndefined();
    expect(bestSwdCandidate([])).toBeUndefined();
  });

  it("chooses among a GAN's committed checkpoints; latest stays the default", async () => {
    const store = new MemoryObjectStore();
    await store.ensureBucket();
    const artifacts = new ArtifactStore({ store });
    const ganId = "gan-test";
    const save = async (images: number, swd: number | null, resolution = 16) => {
      const fields: CheckpointFields = {
        ganId,
        ensembleId: "ens-test",
        member: 0,
        seed: 1,
        datasetId: "ds",
        family: "pgan",
        images,
        kimg: images / 1000,
        resolution,
        finalResolution: 16,
        level: 0,
        alpha: 1,
        swd,
        final: false,
      };
      const w = await artifacts.beginArtifact(CHECKPOINT_KIND, checkpointId(ganId, images));
      await w.putJson("quality.json", { swd });
      await w.commit({ inputs: [], params: {}, provenance: {}, extra: fields });
    };
    await save(1000, 5, 8);
    await save(2000, 40);
    await save(3000, 25);
    await save(4000, 31);
    const latest = await latestCheckpoint(store, artifacts, ganId);
    expect(latest?.manifest.kimg).toBe(4);
    if (!latest) return;
    expect((await chooseCheckpoint(store, artifacts, ganId, latest, "latest")).id).toBe(latest.id);
    const best = await chooseCheckpoint(store, artifacts, ganId, latest, "best-swd");
    expect(best.id).toBe(checkpointId(ganId, 3000));
    expect(best.manifest.swd).toBe(25);
    expect(best.ref.key).toContain(checkpointId(ganId, 3000));
  });
});
