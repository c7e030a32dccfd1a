// Experiments: every evaluator report (from its jobs' outputs), the Table-1 markdown with p-values, and the
// report's figures.
import { JobState } from "@synthmri/contracts";
import { errorBox, h, table, when } from "../dom.js";
import { api } from "../rpc.js";

export async function experimentsPage(root: HTMLElement, params: URLSearchParams): Promise<void> {
  const { jobs } = await api.jobs.evaluator.listJobs({ page: { pageSize: 100 } });
  const done = jobs.filter((j) => j.state === JobState.SUCCEEDED && j.outputs.report_id);
  root.append(
    table(
      ["report", "kind", "finished", ""],
      done.map((j) => [
        j.outputs.report_id,
        j.kind,
        when(j.finishedAt),
        h("a", { href: `#experiments?report=${encodeURIComponent(j.outputs.report_id)}` }, "open"),
      ]),
    ),
  );
  const id = params.get("report") ?? done[0]?.outputs.report_id;
  if (!id) {
    root.append(h("p", { class: "muted" }, "No report yet: run the demo experiment (npm start)."));
    return;
  }
  const { report } = await api.evaluator.getReport({ reportId: id });
  if (!report) return;
  root.append(
    h("h2", {}, `Report ${report.id} (${report.kind})`),
    table(
      ["headline", "value"],
      Object.entries(report.summary).map(([k, v]) => [k, Number.isInteger(v) ? String(v) : v.toPrecision(4)]),
    ),
    h("pre", { class: "report", "data-testid": "report-markdown" }, report.markdown),
  );
  for (const f of report.files.filter((x) => /\.(png|svg)$/.test(x.key))) {
    const name = f.key.split("/").pop() ?? f.key;
    try {
      const r = await api.console.getReportFile({ reportId: report.id, name });
      const url = URL.createObjectURL(new Blob([r.data as BlobPart], { type: r.contentType }));
      root.append(h("figure", {}, h("img", { class: "figure", src: url, alt: name }), h("figcaption", {}, name)));
    } catch (e) {
      root.append(errorBox(e));
    }
  }
}
