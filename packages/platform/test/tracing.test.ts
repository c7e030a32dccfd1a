import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { activeTraceIds, inSpan, initTracing, tracingEnabled, traceExporterFromEnv } from "../src/index.js";

describe("traceExporterFromEnv: off unless the standard OTEL_* variables ask for an exporter", () => {
  it.each([
    [{}, "none"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, "otlp"],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" }, "otlp"],
    [{ OTEL_TRACES_EXPORTER: "otlp" }, "otlp"],
    [{ OTEL_TRACES_EXPORTER: " Console " }, "console"],
    [{ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }, "none"],
    [{ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" }, "none"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "" }, "none"],
  ] as const)("%j -> %s", (env, want) => {
    expect(traceExporterFromEnv(env)).toBe(want);
  });

  it("names the variable and the choices for an exporter it does not support", () => {
    expect(() => traceExporterFromEnv({ OTEL_TRACES_EXPORTER: "zipkin" })).toThrow(
      /OTEL_TRACES_EXPORTER.*otlp, console or none/,
    );
  });

  it("off: initTracing registers nothing and log lines get no trace fields", async () => {
    const t = await initTracing({ service: "x", env: {} });
    expect(t.enabled).toBe(false);
    expect(tracingEnabled()).toBe(false);
    expect(activeTraceIds()).toBeUndefined();
    await t.shutdown();
  });

  it("on: OTEL_EXPORTER_OTLP_ENDPOINT sends the spans by OTLP/HTTP to <endpoint>/v1/traces on shutdown", async () => {
    const received: { url: string; body: string }[] = [];
    const collector = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push({ url: req.url ?? "", body });
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => collector.listen(0, "127.0.0.1", r));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    const saved = process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint; // the exporter reads the standard variable itself
    try {
      const t = await initTracing({ service: "otlp-test", env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint } });
      expect(t.enabled).toBe(true);
      let ids: ReturnType<typeof activeTraceIds>;
      await inSpan("unit of work", async () => {
        ids = activeTraceIds();
      });
      await t.shutdown();
      expect(tracingEnabled()).toBe(false);
      expect(received.map((r) => r.url)).toEqual(["/v1/traces"]);
      expect(received[0].body).toContain("otlp-test");
      expect(received[0].body).toContain("unit of work");
      expect(ids?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      if (saved === undefined) delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      else process.env.OTEL_EXPORTER_OTLP_ENDPOINT = saved;
      await new Promise((r) => collector.close(r));
    }
  });
});
