// Segment a scan: four NIfTI sequences up (one SegmentScan request), the label map back on the input grid,
// shown over the FLAIR in niivue and offered as a download.
import { Modality } from "@synthmri/contracts";
import { download, errorBox, h, table } from "../dom.js";
import { api } from "../rpc.js";
import { showVolumes } from "../viewer.js";

const INPUTS: Array<[Modality, string]> = [
  [Modality.T1, "T1"],
  [Modality.T1CE, "T1Gd (T1CE)"],
  [Modality.T2, "T2"],
  [Modality.FLAIR, "FLAIR"],
];

export async function segmentPage(root: HTMLElement): Promise<void> {
  const { models } = await api.segmenter.listModels({ page: { pageSize: 200 } });
  const select = h(
    "select",
    { name: "model" },
    ...models.map((m) =>
      h(
        "option",
        { value: `${m.id}@${m.version}`, selected: m.loaded },
        `${m.id} v${m.version}${m.loaded ? " (loaded)" : ""}`,
      ),
    ),
  );
  const inputs = INPUTS.map(([modality, label]) => {
    const input = h("input", { type: "file", accept: ".nii,.nii.gz", name: Modality[modality].toLowerCase() });
    return { modality, label, input };
  });
  const result = h("div", { "data-testid": "segment-result" });
  const run = h("button", { type: "submit" }, "Segment");
  const form = h(
    "form",
    {
      onsubmit: async (e: Event) => {
        e.preventDefault();
        run.disabled = true;
        result.replaceChildren(h("p", { class: "muted" }, "Segmenting…"));
        try {
          const files = await Promise.all(
            inputs.map(async ({ modality, label, input }) => {
              const file = input.files?.[0];
              if (!file) throw new Error(`choose the ${label} file`);
              return { name: file.name, modality, data: new Uint8Array(await file.arrayBuffer()) };
            }),
          );
          const [modelId, version] = select.value.split("@");
          const r = await api.console.segmentScan({ modelId, version: Number(version) || 0, files });
          const flair = files.find((f) => f.modality === Modality.FLAIR)!;
          result.replaceChildren(
            h(
              "p",
              {},
              `Model ${r.modelId} v${r.version}, ${r.inferenceSeconds.toFixed(2)} s. `,
              download(r.name, r.nifti),
            ),
            table(
              ["label", "voxels"],
              Object.entries(r.labelVoxels).map(([k, v]) => [k, v.toString()]),
            ),
            await showVolumes({ name: flair.name, bytes: flair.data }, { name: r.name, bytes: r.nifti }),
          );
          result.dataset.done = "true";
        } catch (err) {
          result.replaceChildren(errorBox(err));
          result.dataset.done = "error";
        } finally {
          run.disabled = false;
        }
      },
    },
    h("label", {}, "Model ", select),
    ...inputs.map(({ label, input }) => h("label", {}, `${label}: `, input)),
    run,
  );
  if (models.length === 0)
    root.append(h("p", { class: "bad" }, "No segmentation model yet: run the demo experiment first."));
  root.append(form, result);
}
