import { TestingService } from "@synthmri/contracts";
import { createMetricsRegistry, NotFound, startMetrics } from "@synthmri/platform";
import { describe, expect, it } from "vitest";
import { createClient, createServer, metricsInterceptor, type ServerInterceptor } from "../src/index.js";

/** The value of the sample `name{...}` whose labels include all of `labels` (label order is prom-client's). */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => m[2].includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}

describe("metricsInterceptor + startMetrics", () => {
  it("counts RPCs by method and code and serves them on /metrics", async () => {
    const registry = createMetricsRegistry("testing", { processMetrics: false });
    // The builder records every call in the given registry (the process registry by default).
    const server = createServer({ metrics: registry }).add(TestingService, {
      async echo(req) {
        if (req.text === "missing") throw new NotFound("no such thing");
        return { text: req.text };
      },
    });
    const port = await server.listen("127.0.0.1", 0);
    const metrics = await startMetrics({ host: "127.0.0.1", metricsPort: 0 }, registry);
    if (!metrics) throw new Error("metrics server expected with METRICS_PORT=0");
    const client = createClient(TestingService, `127.0.0.1:${port}`, { retry: false });
    try {
      await client.echo({ text: "a" });
      await client.echo({ text: "b" });
      await client.echo({ text: "missing" }).catch(() => undefined);
      const res = await fetch(`${metrics.url}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/plain/);
      const text = await res.text();
      const method = "/synthmri.testing.v1.TestingService/Echo";
      const service = "testing";
      expect(sample(text, "synthmri_rpc_requests_total", { method, code: "OK", service })).toBe(2);
      expect(sample(text, "synthmri_rpc_requests_total", { method, code: "NOT_FOUND", service })).toBe(1);
      expect(sample(text, "synthmri_rpc_duration_seconds_count", { method, code: "OK", service })).toBe(2);
      expect(sample(text, "synthmri_rpc_in_flight", { method, service })).toBe(0);
      expect(text).not.toContain("grpc.health");
      expect((await fetch(`${metrics.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${metrics.url}/nope`)).status).toBe(404);
    } finally {
      client.close();
      await server.shutdown(1000);
      await metrics.close();
    }
  });

  it("serves the standard grpc_server_* names (grpc-ecosystem) beside its own, for unary and streaming calls", async () => {
    const registry = createMetricsRegistry("testing", { processMetrics: false });
    const server = createServer({ metrics: registry }).add(TestingService, {
      async echo(req) {
        if (req.text === "missing") throw new NotFound("no such thing");
        return { text: req.text };
      },
      async *relay(requests) {
        for await (const r of requests) yield { frame: r.frame };
      },
    });
    const port = await server.listen("127.0.0.1", 0);
    const metrics = await startMetrics({ host: "127.0.0.1", metricsPort: 0 }, registry);
    if (!metrics) throw new Error("metrics server expected with METRICS_PORT=0");
    const client = createClient(TestingService, `127.0.0.1:${port}`, { retry: false });
    try {
      await client.echo({ text: "a" });
      await client.echo({ text: "missing" }).catch(() => undefined);
      const frames = [1, 2, 3].map(() => ({ frame: {} }));
      let relayed = 0;
      for await (const _ of client.relay(frames)) relayed++;
      expect(relayed).toBe(3);
      const text = await (await fetch(`${metrics.url}/metrics`)).text();
      const echo = { grpc_service: "synthmri.testing.v1.TestingService", grpc_method: "Echo", grpc_type: "unary" };
      const relay = { ...echo, grpc_method: "Relay", grpc_type: "bidi_stream" };
      expect(sample(text, "grpc_server_started_total", echo)).toBe(2);
      expect(sample(text, "grpc_server_handled_total", { ...echo, grpc_code: "OK" })).toBe(1);
      expect(sample(text, "grpc_server_handled_total", { ...echo, grpc_code: "NotFound" })).toBe(1);
      expect(sample(text, "grpc_server_handling_seconds_count", echo)).toBe(2);
      expect(sample(text, "grpc_server_handling_seconds_bucket", { ...echo, le: "+Inf" })).toBe(2);
      expect(sample(text, "grpc_server_msg_received_total", echo)).toBe(2);
      expect(sample(text, "grpc_server_msg_sent_total", echo)).toBe(1);
      expect(sample(text, "grpc_server_handled_total", { ...relay, grpc_code: "OK" })).toBe(1);
      expect(sample(text, "grpc_server_msg_received_total", relay)).toBe(3);
      expect(sample(text, "grpc_server_msg_sent_total", relay)).toBe(3);
      // The suite's own names stay.
      expect(sample(text, "synthmri_rpc_requests_total", { code: "NOT_FOUND" })).toBe(1);
      expect(text).toMatch(/^# TYPE grpc_server_handling_seconds histogram$/m);
      expect(text).not.toContain("grpc.health");
    } finally {
      client.close();
      await server.shutdown(1000);
      await metrics.close();
    }
  });

  it("counts calls an auth interceptor refuses, and never leaves them in flight", async () => {
    const registry = createMetricsRegistry("testing", { processMetrics: false });
    const deny: ServerInterceptor = {
      onCall() {
        throw new NotFound("refused before the handler");
      },
    };
    const server = createServer({ metrics: false, interceptors: [metricsInterceptor(registry), deny] }).add(
      TestingService,
      { echo: async (req) => ({ text: req.text }) },
    );
    const port = await server.listen("127.0.0.1", 0);
    const client = createClient(TestingService, `127.0.0.1:${port}`, { retry: false });
    try {
      await expect(client.echo({ text: "x" })).rejects.toThrow(/refused/);
      const text = await registry.metrics();
      const method = "/synthmri.testing.v1.TestingService/Echo";
      expect(sample(text, "synthmri_rpc_requests_total", { method, code: "NOT_FOUND" })).toBe(1);
      expect(sample(text, "synthmri_rpc_in_flight", { method })).toBe(0);
    } finally {
      client.close();
      await server.shutdown(1000);
    }
  });

  it("opens no endpoint when METRICS_PORT is unset, and names the variable when the port is taken", async () => {
    const registry = createMetricsRegistry("testing", { processMetrics: false });
    expect(await startMetrics({ host: "127.0.0.1", metricsPort: undefined }, registry)).toBeUndefined();
    const first = await startMetrics({ host: "127.0.0.1", metricsPort: 0 }, registry);
    if (!first) throw new Error("expected a metrics server");
    try {
      await expect(startMetrics({ host: "127.0.0.1", metricsPort: first.port }, registry)).rejects.toThrow(
        /METRICS_PORT/,
      );
    } finally {
      await first.close();
    }
  });
});
