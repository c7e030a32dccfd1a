// Health of every service: gRPC health, and what each process runs on from its own GetServiceInfo (version,
// compute backend, native kernel addon, threads, GPU adapter, TRAIN_PROCESSES).
import { h, table } from "../dom.js";
import { api } from "../rpc.js";

export async function healthPage(root: HTMLElement): Promise<void> {
  const { services } = await api.console.getHealth({});
  root.append(
    table(
      [
        "service",
        "status",
        "address",
        "latency",
        "version",
        "compute backend",
        "native addon",
        "threads",
        "GPU",
        "TRAIN_PROCESSES",
      ],
      services.map((s) => {
        const i = s.info;
        const backend = s.backend
          ? `${s.backend}${i?.backendProvider ? ` (${i.backendProvider})` : ""}`
          : h("span", { class: "muted" }, s.name === "ingest" ? "none (no tensor work)" : "not started");
        return [
          s.name,
          h("span", { class: s.status === "SERVING" ? "ok" : "bad", "data-testid": `health-${s.name}` }, s.status),
          s.address,
          `${s.latencyMs.toFixed(0)} ms`,
          i ? i.version : h("span", { class: "bad", title: s.infoError }, "no service info"),
          h("span", { "data-testid": `backend-${s.name}` }, backend),
          i?.backend ? (i.nativeKernels ? "on" : "off") : "",
          i?.threads ? String(i.threads) : "",
          h("span", { "data-testid": `gpu-${s.name}` }, s.gpu ? i?.gpuAdapter || "yes" : "none"),
          i ? String(i.trainProcesses) : "",
        ];
      }),
    ),
    h(
      "p",
      { class: "muted" },
      "Each service reports the backend its process runs (GetServiceInfo). The segmenter is NOT_SERVING until a model is loaded. ",
      "TRAIN_PROCESSES 0 means training runs inside the service process.",
    ),
  );
}
