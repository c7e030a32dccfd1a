// Datasets: cohort summaries, and one subject's scan with its segmentation in niivue (ExportSubject).
import { Modality, Origin, Split } from "@synthmri/contracts";
import { h, table, when } from "../dom.js";
import { api } from "../rpc.js";
import { type ViewerVolume, showVolumes } from "../viewer.js";

export async function datasetsPage(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const { datasets } = await api.ingest.listDatasets({ page: { pageSize: 100 } });
  root.append(
    table(
      ["name", "origin", "train / test slices", "slice shape", "created", ""],
      datasets.map((d) => [
        d.name || d.id,
        (Origin[d.origin] ?? "").toLowerCase(),
        `${d.trainSlices} / ${d.testSlices}`,
        d.sliceShape.join("×"),
        when(d.createdAt),
        h("a", { href: `#datasets?id=${encodeURIComponent(d.id)}` }, "open"),
      ]),
    ),
  );
  const id = params.get("id");
  if (!id) return;
  const { dataset } = await api.ingest.getDataset({ datasetId: id, includeSubjects: true });
  if (!dataset) return;
  root.append(
    h("h2", {}, `Dataset ${dataset.name || dataset.id}`),
    table(
      ["subject", "split", "shape", "spacing (mm)", "slices", ""],
      dataset.subjects.map((s) => [
        s.key,
        (Split[s.split] ?? "").toLowerCase(),
        s.shape.join("×"),
        s.spacing.map((v) => v.toFixed(2)).join(" × "),
        s.sliceCount,
        h("a", { href: `#datasets?id=${encodeURIComponent(id)}&subject=${encodeURIComponent(s.key)}` }, "view"),
      ]),
    ),
  );
  const subject = params.get("subject");
  if (!subject) return;
  const files = await exportSubject(id, subject);
  const scan = files.find((f) => f.modality === Modality.FLAIR) ?? files.find((f) => f.modality !== Modality.SEG);
  const seg = files.find((f) => f.modality === Modality.SEG);
  if (!scan) throw new Error(`subject ${subject} exported no image`);
  root.append(h("h2", {}, `${subject}: FLAIR with its segmentation`), await showVolumes(scan, seg));
}

async function exportSubject(
  datasetId: string,
  subjectKey: string,
): Promise<Array<ViewerVolume & { modality: Modality }>> {
  const out: Array<ViewerVolume & { modality: Modality; parts: Uint8Array[] }> = [];
  for await (const r of api.ingest.exportSubject({
    datasetId,
    subjectKey,
    modalities: [Modality.FLAIR, Modality.SEG],
  })) {
    const f = r.file?.frame;
    if (f?.case === "header")
      out.push({ name: f.value.name, modality: f.value.modality, bytes: new Uint8Array(), parts: [] });
    else if (f?.case === "chunk") out.at(-1)?.parts.push(f.value.data);
  }
  return out.map((f) => ({ name: f.name, modality: f.modality, bytes: concat(f.parts) }));
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
