import { describe, expect, it } from "vitest";
import { activeTraceIds, initTracing, tracingEnabled, traceExporterFromEnv } from "../src/index.js";

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
});
