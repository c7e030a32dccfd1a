// Reading, listing and deleting dataset artifacts (real and synthetic share the manifest format).
import { type ArtifactStore, FailedPrecondition, InvalidInput, type Manifest, NotFound } from "@synthmri/platform";
import { asDatasetManifest, type DatasetFields, DATASET_KIND } from "@synthmri/volume";

export type DatasetManifest = Manifest<DatasetFields>;

export async function getDataset(artifacts: ArtifactStore, id: string): Promise<DatasetManifest> {
  if (!id) throw new InvalidInput("dataset_id is required");
  let m: Manifest;
  try {
    m = await artifacts.getManifest(DATASET_KIND, id);
  } catch (e) {
    if ((e as { kind?: string }).kind === "InvalidInput")
      throw new NotFound(`dataset "${id}" not found (not a valid dataset id)`);
    if ((e as { kind?: string }).kind === "NotFound")
      throw new NotFound(`dataset "${id}" not found; ListDatasets shows the existing ones`);
    throw e;
  }
  return asDatasetManifest(m);
}

export interface DatasetPage {
  datasets: DatasetManifest[];
  nextPageToken: string;
}

/** Newest first; page tokens are offsets into that order. Manifests that are not datasets are left out. */
export async function listDatasets(
  artifacts: ArtifactStore,
  opts: { pageSize?: number; pageToken?: string; origin?: DatasetFields["origin"] },
): Promise<DatasetPage> {
  const pageSize = opts.pageSize && opts.pageSize > 0 ? Math.min(opts.pageSize, 500) : 50;
  const start = opts.pageToken ? Number(opts.pageToken) : 0;
  if (!Number.isInteger(start) || start < 0)
    throw new InvalidInput(`page_token "${opts.pageToken}" is not one this service gave out`);
  const infos = (await artifacts.listArtifacts(DATASET_KIND)).reverse();
  const out: DatasetManifest[] = [];
  let i = start;
  for (; i < infos.length && out.length < pageSize; i++) {
    let m: DatasetManifest;
    try {
      m = asDatasetManifest(await artifacts.getManifest(DATASET_KIND, infos[i].id));
    } catch (e) {
      if (e instanceof FailedPrecondition) continue;
      throw e;
    }
    if (opts.origin && m.origin !== opts.origin) continue;
    out.push(m);
  }
  return { datasets: out, nextPageToken: i < infos.length ? String(i) : "" };
}

/** Manifest first (the dataset stops existing at once), then its files and its private identity mapping. */
export async function deleteDataset(artifacts: ArtifactStore, id: string): Promise<number> {
  await getDataset(artifacts, id);
  let count = 0;
  for await (const _ of artifacts.objects.listObjects(`${DATASET_KIND}/${id}/`)) count++;
  await artifacts.deleteArtifact(DATASET_KIND, id);
  const identity = `private/identity/${id}.json`;
  if (await artifacts.objects.exists(identity)) {
    await artifacts.objects.deleteObject(identity);
    count++;
  }
  return count;
}
