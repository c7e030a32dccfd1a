// GAN ensembles: members (seed, state, kimg, resolution, SWD), an SWD chart, and a sample grid per member
// drawn from the Sample stream (channels t1,t1ce,t2,flair,mask; the mask in BraTS colours, tiles upscaled).
import { DataType, GanFamily, JobState } from "@synthmri/contracts";
import { h, lineChart, table, when } from "../dom.js";
import { api } from "../rpc.js";
import { LABEL_COLOURS, legend } from "../viewer.js";
import { concat } from "./datasets.js";

const SEQUENCES = ["T1", "T1Gd", "T2", "FLAIR"];

export async function ensemblesPage(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const { ensembles } = await api.generator.listEnsembles({ page: { pageSize: 100 } });
  root.append(
    table(
      ["name", "family", "members", "dataset", "created", ""],
      ensembles.map((e) => [
        e.name || e.id,
        (GanFamily[e.family] ?? "").toLowerCase(),
        e.members.length,
        e.datasetId,
        when(e.createdAt),
        h("a", { href: `#ensembles?id=${encodeURIComponent(e.id)}` }, "open"),
      ]),
    ),
  );
  const id = params.get("id");
  if (!id) return;
  const { ensemble } = await api.generator.getEnsemble({ ensembleId: id });
  if (!ensemble) return;
  root.append(
    h("h2", {}, `Ensemble ${ensemble.name || ensemble.id}`),
    table(
      ["member", "seed", "state", "kimg", "resolution", "SWD", "training job"],
      ensemble.members.map((m) => [
        m.index,
        m.seed,
        (JobState[m.state] ?? "").toLowerCase(),
        m.kimg.toFixed(1),
        `${m.resolution}×${m.resolution}`,
        m.swd ? m.swd.toPrecision(4) : "",
        h("a", { href: `#jobs?service=generator&id=${encodeURIComponent(m.jobId)}` }, "watch"),
      ]),
    ),
    lineChart("SWD by member (lower is better)", [
      { name: "SWD", points: ensemble.members.map((m) => [m.index, m.swd] as [number, number]) },
    ]),
    h("h2", {}, "Training curves per member"),
    h(
      "p",
      { class: "muted" },
      "Losses by kimg (thousands of real images shown) and the Laplacian SWD (x1e3, lower is better) measured at each checkpoint; dashed lines mark the growth phases.",
    ),
  );
  for (const m of ensemble.members) {
    const box = h("div", { class: "curves", "data-testid": `curves-${m.index}` }, h("strong", {}, `member ${m.index}`));
    root.append(box);
    try {
      await drawCurves(box, ensemble.id, m.index);
    } catch (e) {
      box.append(h("span", { class: "bad" }, e instanceof Error ? e.message : String(e)));
    }
  }
  root.append(
    h("h2", {}, "Samples per member"),
    h("p", { class: "muted" }, "Each row: one member's samples (FLAIR with the generated mask overlaid)."),
    legend(),
  );
  for (const m of ensemble.members.filter((x) => x.state === JobState.SUCCEEDED)) {
    const row = h("div", { class: "grid", "data-testid": `samples-${m.index}` }, h("strong", {}, `member ${m.index}`));
    root.append(row);
    try {
      await drawSamples(row, ensemble.id, m.index);
    } catch (e) {
      row.append(h("span", { class: "bad" }, e instanceof Error ? e.message : String(e)));
    }
  }
}

async function drawSamples(row: HTMLElement, ensembleId: string, member: number): Promise<void> {
  let shape: number[] = [];
  const parts: Uint8Array[] = [];
  for await (const r of api.generator.sample({
    source: { ensembleId, members: [member] },
    count: 6,
    seed: 1,
    dtype: DataType.UINT8,
  })) {
    const f = r.frame?.frame;
    if (f?.case === "header") shape = f.value.shape;
    else if (f?.case === "chunk") parts.push(f.value.data);
  }
  const data = concat(parts);
  const [n, size, , channels] = shape;
  const flair = SEQUENCES.length - 1;
  for (let i = 0; i < n; i++) {
    const canvas = h("canvas", { width: String(size), height: String(size), title: `FLAIR + mask, sample ${i}` });
    const ctx = canvas.getContext("2d")!;
    const img = ctx.createImageData(size, size);
    for (let p = 0; p < size * size; p++) {
      const base = (i * size * size + p) * channels;
      const v = data[base + flair];
      const label = channels > 4 ? maskLabel(data[base + 4]) : 0;
      const colour = LABEL_COLOURS.find((c) => c[0] === label)?.[1];
      const [r, g, b] = colour ? blend(v, colour) : [v, v, v];
      img.data.set([r, g, b, 255], p * 4);
    }
    ctx.putImageData(img, 0, 0);
    row.append(canvas);
  }
}

/** uint8 masks carry the label value (0,1,2,4) or a value scaled to 0..255; both map to a label. */
function maskLabel(v: number): number {
  if (v <= 4) return v === 3 ? 4 : v;
  return v < 96 ? 1 : v < 176 ? 2 : 4;
}

function blend(v: number, hex: string): [number, number, number] {
  const c = [1, 3, 5].map((o) => Number.parseInt(hex.slice(o, o + 2), 16));
  return [0, 1, 2].map((k) => Math.round(0.45 * v + 0.55 * c[k])) as [number, number, number];
}

async function drawCurves(box: HTMLElement, ensembleId: string, member: number): Promise<void> {
  const history = await api.generator.getTrainingHistory({ ensembleId, member, maxPoints: 400 });
  const points = history.points;
  if (points.length === 0) {
    box.append(h("span", { class: "muted" }, " no checkpoint yet"));
    return;
  }
  // A marker where the phase changes (fade-in / stabilize at each resolution).
  const markers: Array<[number, string]> = [];
  let phase = "";
  // (Step points only: a checkpoint saved before the step's progress report carries no phase of its own.)
  for (const p of points) {
    if (p.checkpoint || !p.phase || p.phase === phase) continue;
    markers.push([p.kimg, p.phase.replace(/^stabili[sz]e /, "").replace(/^fade-in /, "fade ")]);
    phase = p.phase;
  }
  const steps = points.filter((p) => !p.checkpoint);
  const losses = [
    {
      name: history.family === "ddpm" ? "denoising loss" : "loss D",
      points: steps.map((p) => [p.kimg, p.lossD] as [number, number]),
    },
    ...(steps.some((p) => p.lossG !== 0)
      ? [{ name: "loss G", points: steps.map((p) => [p.kimg, p.lossG] as [number, number]) }]
      : []),
  ];
  const swd = points.filter((p) => p.checkpoint && p.swd > 0).map((p) => [p.kimg, p.swd] as [number, number]);
  box.append(
    h("span", { class: "muted" }, ` ${history.family}, ${points.at(-1)?.kimg.toFixed(2)}/${history.totalKimg} kimg`),
    h(
      "div",
      { class: "charts" },
      lineChart(`member ${member}: losses`, losses, { xLabel: "kimg", markers, width: 480 }),
      lineChart(`member ${member}: SWD at checkpoints`, [{ name: "SWD x1e3", points: swd }], {
        xLabel: "kimg",
        width: 360,
      }),
    ),
  );
}
