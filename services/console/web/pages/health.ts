import { api } from "../rpc.js";
import { h, table } from "../dom.js";

export async function healthPage(root: HTMLElement): Promise<void> {
  const { services } = await api.console.getHealth({});
  root.append(
    table(
      ["service", "status", "address", "latency", "compute backend", "GPU"],
      services.map((s) => [
        s.name,
        h("span", { class: s.status === "SERVING" ? "ok" : "bad", "data-testid": `health-${s.name}` }, s.status),
        s.address,
        `${s.latencyMs.toFixed(0)} ms`,
        s.backend || h("span", { class: "muted" }, s.name === "segmenter" ? "no model trained yet" : "—"),
        s.name === "segmenter" ? (s.gpu ? "yes" : "no") : "",
      ]),
    ),
    h(
      "p",
      { class: "muted" },
      "The segmenter is NOT_SERVING until a model is loaded. The backend is the one recorded in the newest model's provenance.",
    ),
  );
}
