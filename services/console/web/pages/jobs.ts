// Jobs of every service, newest first; one job's live progress from WatchJob, with cancel and its error.
import { type JobStatus, JobState } from "@synthmri/contracts";
import { errorBox, h, lineChart, table, when } from "../dom.js";
import { SERVICE_NAMES, type ServiceName, api } from "../rpc.js";

export function stateName(s: JobState): string {
  return (JobState[s] ?? String(s)).toLowerCase();
}

export async function jobsPage(root: HTMLElement, params: URLSearchParams): Promise<() => void> {
  const abort = new AbortController();
  const watchId = params.get("id");
  const watchService = params.get("service") as ServiceName | null;
  if (watchId && watchService) {
    root.append(await watchPanel(watchService, watchId, abort.signal));
  }
  const rows: Array<[ServiceName, JobStatus]> = [];
  for (const service of SERVICE_NAMES) {
    try {
      const { jobs } = await api.jobs[service].listJobs({ page: { pageSize: 50 } });
      for (const j of jobs) rows.push([service, j]);
    } catch (e) {
      root.append(errorBox(`${service}: ${e instanceof Error ? e.message : e}`));
    }
  }
  rows.sort((a, b) => Number((b[1].createdAt?.seconds ?? 0n) - (a[1].createdAt?.seconds ?? 0n)));
  root.append(
    h("h2", {}, `All jobs (${rows.length})`),
    table(
      ["service", "kind", "state", "progress", "created", "error", ""],
      rows.map(([service, j]) => [
        service,
        j.kind,
        stateName(j.state),
        `${Math.round((j.progress?.fraction ?? 0) * 100)}% ${j.progress?.phase ?? ""}`,
        when(j.createdAt),
        j.errorMessage ? h("span", { class: "bad" }, j.errorMessage) : "",
        h("a", { href: `#jobs?service=${service}&id=${encodeURIComponent(j.id)}` }, "watch"),
      ]),
    ),
  );
  return () => abort.abort();
}

async function watchPanel(service: ServiceName, id: string, signal: AbortSignal): Promise<HTMLElement> {
  const bar = h("progress", { max: "1", value: "0" });
  const state = h("strong", { "data-testid": "job-state" }, "…");
  const message = h("span", { class: "muted" });
  const metrics = h("div", { class: "muted" });
  // Loss / SWD curves of a running training: the metrics of every progress update, by step.
  const curves = h("div", { "data-testid": "job-curves" });
  const history = new Map<string, Array<[number, number]>>();
  const error = h("div");
  const cancel = h(
    "button",
    {
      onclick: async () => {
        try {
          await api.jobs[service].cancelJob({ jobId: id });
        } catch (e) {
          error.replaceChildren(errorBox(e));
        }
      },
    },
    "Cancel",
  );
  const panel = h(
    "section",
    { "data-testid": "job-watch" },
    h("h2", {}, `Job ${id} (${service})`),
    h("p", {}, state, " ", bar, " ", message, " ", cancel),
    metrics,
    curves,
    error,
  );
  const show = (j: JobStatus) => {
    state.textContent = stateName(j.state);
    state.className = j.state === JobState.FAILED ? "bad" : j.state === JobState.SUCCEEDED ? "ok" : "";
    bar.value = j.progress?.fraction ?? 0;
    const p = j.progress;
    message.textContent = p ? `${Math.round(p.fraction * 100)}% ${p.phase} ${p.message}` : "";
    metrics.textContent = Object.entries(p?.metrics ?? {})
      .map(([k, v]) => `${k}=${v.toPrecision(4)}`)
      .join("  ");
    const x = p?.done || p?.fraction || 0;
    for (const [k, v] of Object.entries(p?.metrics ?? {})) {
      const points = history.get(k) ?? [];
      if (points.at(-1)?.[0] !== x) points.push([x, v]);
      history.set(k, points);
    }
    if ([...history.values()].some((pts) => pts.length > 1)) {
      curves.replaceChildren(
        lineChart(
          `progress metrics by ${p?.unit || "step"}`,
          [...history].slice(0, 5).map(([name, points]) => ({ name, points })),
        ),
      );
    }
    if (j.errorMessage) error.replaceChildren(errorBox(`${j.errorCode}: ${j.errorMessage}`));
    const final = j.state >= JobState.SUCCEEDED;
    cancel.disabled = final;
    panel.dataset.final = String(final);
  };
  (async () => {
    try {
      for await (const r of api.jobs[service].watchJob({ jobId: id }, { signal })) if (r.job) show(r.job);
    } catch (e) {
      if (!signal.aborted) error.replaceChildren(errorBox(e));
    }
  })();
  return panel;
}
