// niivue (a real NIfTI viewer: header geometry, orientation, 16-bit intensities) on a canvas: a scan with
// an optional label map overlaid in BraTS colours.
import { Niivue } from "@niivue/niivue";
import { h } from "./dom.js";

export interface ViewerVolume {
  name: string;
  bytes: Uint8Array;
}

/** BraTS label colours: 1 necrotic core (red), 2 oedema (green), 3/4 enhancing tumour (yellow). */
export const LABEL_COLOURS: Array<[number, string, string]> = [
  [1, "#ff3b30", "necrotic / non-enhancing core"],
  [2, "#34c759", "oedema"],
  [4, "#ffd60a", "enhancing tumour"],
];

export function legend(): HTMLElement {
  return h(
    "div",
    { class: "legend" },
    ...LABEL_COLOURS.flatMap(([v, c, name]) => [h("span", { style: `background:${c}` }), `${v} ${name}`]),
  );
}

export async function showVolumes(scan: ViewerVolume, labels?: ViewerVolume): Promise<HTMLElement> {
  const canvas = h("canvas", { class: "viewer", "data-testid": "niivue" });
  const box = h("div", {}, h("div", { class: "viewer-box" }, canvas), labels ? legend() : null);
  // niivue sizes the canvas from its parent: attach once the page has put it in the document.
  const attach = async () => {
    if (!canvas.isConnected) return void requestAnimationFrame(attach);
    try {
      const nv = new Niivue({
        backColor: [0, 0, 0, 1],
        show3Dcrosshair: false,
        isResizeCanvas: true,
        crosshairWidth: 1,
        crosshairColor: [1, 0.2, 0.2, 0.6],
      });
      await nv.attachToCanvas(canvas);
      const volumes = [{ url: blobUrl(scan), name: scan.name }];
      if (labels) volumes.push({ url: blobUrl(labels), name: labels.name, opacity: 0.55 } as (typeof volumes)[0]);
      await nv.loadVolumes(volumes);
      nv.setSliceType(nv.sliceTypeAxial);
      const overlay = nv.volumes[1];
      if (overlay) {
        overlay.setColormapLabel({
          R: [0, 255, 52, 255, 255],
          G: [0, 59, 199, 214, 214],
          B: [0, 48, 89, 10, 10],
          A: [0, 255, 255, 255, 255],
          I: [0, 1, 2, 3, 4],
        });
        nv.updateGLVolume();
      }
      canvas.dataset.loaded = String(nv.volumes.length);
    } catch (e) {
      canvas.dataset.error = e instanceof Error ? e.message : String(e);
      box.append(h("div", { class: "error" }, `viewer: ${canvas.dataset.error}`));
    }
  };
  requestAnimationFrame(attach);
  return box;
}

function blobUrl(v: ViewerVolume): string {
  return URL.createObjectURL(new Blob([v.bytes as BlobPart]));
}
