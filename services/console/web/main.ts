// The console's single page: a hash router over plain-DOM pages, each fed by the services' own contracts.
import "./style.css";
import { errorBox, h } from "./dom.js";
import { datasetsPage } from "./pages/datasets.js";
import { ensemblesPage } from "./pages/ensembles.js";
import { experimentsPage } from "./pages/experiments.js";
import { healthPage } from "./pages/health.js";
import { jobsPage } from "./pages/jobs.js";
import { modelsPage } from "./pages/models.js";
import { partnersPage } from "./pages/partners.js";
import { segmentPage } from "./pages/segment.js";

/** A page renders into root; it may return a cleanup (e.g. to end a WatchJob stream) for when it is left. */
type Page = (root: HTMLElement, params: URLSearchParams) => Promise<unknown>;

const PAGES: Array<[string, string, Page]> = [
  ["health", "Health", healthPage],
  ["datasets", "Datasets", datasetsPage],
  ["jobs", "Jobs", jobsPage],
  ["ensembles", "GAN ensembles", ensemblesPage],
  ["models", "Segmenter models", modelsPage],
  ["segment", "Segment a scan", segmentPage],
  ["experiments", "Experiments", experimentsPage],
  ["partners", "Partner bundles", partnersPage],
];

let cleanup: (() => void) | undefined;

async function route(): Promise<void> {
  cleanup?.();
  cleanup = undefined;
  const [name, query] = (location.hash.slice(1) || "health").split("?");
  const entry = PAGES.find((p) => p[0] === name) ?? PAGES[0];
  const nav = document.getElementById("nav")!;
  nav.replaceChildren(
    ...PAGES.map(([id, title]) => h("a", { href: `#${id}`, class: id === entry[0] ? "active" : "" }, title)),
  );
  const root = document.getElementById("page")!;
  root.replaceChildren(h("h1", {}, entry[1]));
  root.dataset.page = entry[0];
  root.dataset.ready = "false";
  try {
    const done = await entry[2](root, new URLSearchParams(query ?? ""));
    if (typeof done === "function") cleanup = done as () => void;
  } catch (e) {
    root.append(errorBox(e));
  }
  root.dataset.ready = "true";
}

window.addEventListener("hashchange", () => void route());
void route();
