// Tiny DOM helpers: pages build plain elements (no framework); text always goes in as text, never HTML.
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | ((e: Event) => void)> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (typeof v === "boolean") {
      if (v) el.setAttribute(k, "");
    } else el.setAttribute(k, v);
  }
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

export function table(headers: string[], rows: Child[][]): HTMLTableElement {
  return h(
    "table",
    {},
    h("thead", {}, h("tr", {}, ...headers.map((t) => h("th", {}, t)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", {}, c))))),
  );
}

export function errorBox(e: unknown): HTMLElement {
  return h("div", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e));
}

export function when(ts: { seconds: bigint } | undefined): string {
  return ts ? new Date(Number(ts.seconds) * 1000).toISOString().replace("T", " ").slice(0, 19) : "";
}

export interface ChartOptions {
  /** Axis captions. */
  xLabel?: string;
  yLabel?: string;
  /** Dashed vertical lines with a caption (e.g. where a GAN grows to the next resolution). */
  markers?: Array<[number, string]>;
  width?: number;
}

/** A small SVG line chart (x/y series); the browser draws it, so it stays sharp at any size. */
export function lineChart(
  title: string,
  series: Array<{ name: string; points: Array<[number, number]> }>,
  options: ChartOptions = {},
): SVGElement {
  const W = options.width ?? 420;
  const H = 220;
  const pad = { l: 48, r: 12, t: 24, b: options.xLabel ? 40 : 30 };
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  // x spans the data (kimg of a short run is well below 1); y keeps 0 in view so magnitudes compare.
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = [Math.min(...ys, 0), Math.max(...ys, 1e-9)];
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0 || 1)) * (W - pad.l - pad.r - 4);
  const sy = (y: number) => H - pad.b - ((y - y0) / (y1 - y0 || 1)) * (H - pad.t - pad.b);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", String(W));
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", title);
  const add = (tag: string, attrs: Record<string, string | number>, text?: string) => {
    const el = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text) el.textContent = text;
    svg.append(el);
  };
  add("rect", { x: 0, y: 0, width: W, height: H, fill: "#fff" });
  add("text", { x: pad.l, y: 15, "font-size": 13, "font-weight": 600 }, title);
  add("line", { x1: pad.l, y1: H - pad.b, x2: W - pad.r, y2: H - pad.b, stroke: "#555" });
  add("line", { x1: pad.l, y1: pad.t, x2: pad.l, y2: H - pad.b, stroke: "#555" });
  add("text", { x: pad.l - 4, y: sy(y1) + 4, "font-size": 11, "text-anchor": "end" }, fmt(y1));
  add("text", { x: pad.l - 4, y: sy(y0) + 4, "font-size": 11, "text-anchor": "end" }, fmt(y0));
  add("text", { x: sx(x1), y: H - pad.b + 14, "font-size": 11, "text-anchor": "end" }, fmt(x1));
  add("text", { x: sx(x0), y: H - pad.b + 14, "font-size": 11, "text-anchor": "start" }, fmt(x0));
  if (options.xLabel)
    add("text", { x: (pad.l + W - pad.r) / 2, y: H - 6, "font-size": 12, "text-anchor": "middle" }, options.xLabel);
  if (options.yLabel)
    add(
      "text",
      {
        x: 12,
        y: (pad.t + H - pad.b) / 2,
        "font-size": 12,
        "text-anchor": "middle",
        transform: `rotate(-90 12 ${(pad.t + H - pad.b) / 2})`,
      },
      options.yLabel,
    );
  // Marker captions in three staggered rows, skipped where one would overprint its row's previous caption.
  const rowEnd = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  (options.markers ?? []).forEach(([x, label]) => {
    add("line", { x1: sx(x), y1: pad.t, x2: sx(x), y2: H - pad.b, stroke: "#999", "stroke-dasharray": "3 3" });
    const width = 5.5 * label.length;
    // Near the right edge the caption goes left of its line.
    const left = sx(x) + 2 + width > W - pad.r ? sx(x) - 2 - width : sx(x) + 2;
    const row = rowEnd.findIndex((end) => left > end);
    if (row < 0) return;
    add("text", { x: left, y: pad.t + 10 + 11 * row, "font-size": 10, fill: "#666" }, label);
    rowEnd[row] = left + width;
  });
  const colours = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"];
  series.forEach((s, i) => {
    const c = colours[i % colours.length];
    add("polyline", {
      points: s.points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(" "),
      fill: "none",
      stroke: c,
      "stroke-width": 2,
    });
    // Dots only where they stay readable (a few checkpoints); long curves are lines.
    if (s.points.length <= 40) for (const [x, y] of s.points) add("circle", { cx: sx(x), cy: sy(y), r: 2.5, fill: c });
    // Legend in the title row (right to left), never over the curves; one series is named by the title.
    if (series.length > 1)
      add("text", { x: W - pad.r - 4 - 100 * i, y: 15, "font-size": 11, "text-anchor": "end", fill: c }, `— ${s.name}`);
  });
  return svg;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : v.toPrecision(3);
}

export function download(name: string, bytes: Uint8Array, type = "application/octet-stream"): HTMLAnchorElement {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  return h("a", { href: url, download: name, "data-testid": "download" }, `Download ${name}`);
}
