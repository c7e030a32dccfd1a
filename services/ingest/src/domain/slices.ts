// StreamSlices' domain: the dataset's slices of a split as batches, ready to be framed as tensors.
import { type ArtifactStore, FailedPrecondition } from "@synthmri/platform";
import {
  countSelected,
  DATASET_KIND,
  type ReadSlicesOptions,
  readDatasetSlices,
  type SliceBatch,
} from "@synthmri/volume";
import { getDataset } from "./datasets.js";

export async function openSliceStream(
  artifacts: ArtifactStore,
  datasetId: string,
  opts: ReadSlicesOptions,
): Promise<{ total: number; batches: AsyncGenerator<SliceBatch> }> {
  const m = await getDataset(artifacts, datasetId);
  const total = countSelected(m, opts);
  if (total === 0) {
    throw new FailedPrecondition(
      `dataset "${datasetId}" has no slices in split ${opts.split}${opts.subjectKeys?.length ? " for those subjects" : ""}`,
    );
  }
  const batches = readDatasetSlices(m, (p) => artifacts.readFile(DATASET_KIND, datasetId, p), opts);
  return { total, batches };
}
