// GetDataset, ListDatasets, DeleteDataset.
import type { DeleteDatasetRequest, GetDatasetRequest, ListDatasetsRequest } from "@synthmri/contracts";
import { Origin } from "@synthmri/contracts";
import { deleteDataset, getDataset, listDatasets } from "../domain/datasets.js";
import type { Ingest } from "../domain/ingest.js";
import { datasetToProto } from "./convert.js";

export function datasetHandlers(ingest: Ingest) {
  const { artifacts } = ingest.deps;
  const bucket = artifacts.objects.bucket;
  return {
    async getDataset(req: GetDatasetRequest) {
      const m = await getDataset(artifacts, req.datasetId);
      return { dataset: datasetToProto(m, { includeSubjects: req.includeSubjects, bucket }) };
    },
    async listDatasets(req: ListDatasetsRequest) {
      const origin = req.origin === Origin.REAL ? "real" : req.origin === Origin.SYNTHETIC ? "synthetic" : undefined;
      const page = await listDatasets(artifacts, {
        pageSize: req.page?.pageSize,
        pageToken: req.page?.pageToken,
        origin,
      });
      return {
        datasets: page.datasets.map((m) => datasetToProto(m, { includeSubjects: false, bucket })),
        nextPageToken: page.nextPageToken,
      };
    },
    async deleteDataset(req: DeleteDatasetRequest) {
      return { objectsDeleted: await deleteDataset(artifacts, req.datasetId) };
    },
  };
}
