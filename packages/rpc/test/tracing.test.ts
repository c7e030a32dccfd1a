// One trace across processes' worth of hops: a CLI-like root span -> client -> service A -> (in a job) client ->
// service B, carried by traceparent in gRPC metadata, with the trace id in the JSON log lines of both services.
import { TestingService } from "@synthmri/contracts";
import { createLogger, inSpan, initTracing, JobRunner, MemoryObjectStore, type Tracing } from "@synthmri/platform";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createClient, createServer, loggingInterceptor, Metadata, type RpcServer } from "../src/index.js";

const SERVICE = "synthmri.testing.v1.TestingService";

describe("OpenTelemetry tracing through gRPC", () => {
  let exporter: InMemorySpanExporter;
  let tracing: Tracing;
  const stops: (() => Promise<void> | void)[] = [];

  beforeEach(async () => {
    exporter = new InMemorySpanExporter();
    tracing = await initTracing({ service: "test", exporter });
    expect(tracing.enabled).toBe(true);
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
    await tracing.shutdown();
  });

  function jsonLog(lines: Record<string, unknown>[], name: string) {
    return createLogger({ name, stream: { write: (l: string) => lines.push(JSON.parse(l)) } });
  }

  async function serve(server: RpcServer): Promise<string> {
    const port = await server.listen("127.0.0.1", 0);
    stops.push(() => server.shutdown(1000));
    return `127.0.0.1:${port}`;
  }

  it("links CLI span -> service A -> job -> service B in one trace, and log lines carry its ids", async () => {
    const logsA: Record<string, unknown>[] = [];
    const logsB: Record<string, unknown>[] = [];
    const loggerA = jsonLog(logsA, "a");
    const loggerB = jsonLog(logsB, "b");
    const seenByB: string[] = [];
    const b = createServer({ logger: loggerB, interceptors: [loggingInterceptor(loggerB)], metrics: false }).add(
      TestingService,
      {
        async echo(req, ctx) {
          seenByB.push(String(ctx.metadata.get("traceparent")[0] ?? ""));
          ctx.logger.info("b handled", { text: req.text });
          return { text: `b:${req.text}` };
        },
      },
    );
    const addrB = await serve(b);
    const clientB = createClient(TestingService, addrB, { retry: false });
    stops.push(() => clientB.close());
    const jobs = new JobRunner({ store: new MemoryObjectStore("jobs"), service: "a", logger: loggerA });
    stops.push(() => jobs.shutdown({ graceMs: 1000 }));
    const a = createServer({ logger: loggerA, interceptors: [loggingInterceptor(loggerA)], metrics: false }).add(
      TestingService,
      {
        // Starts a job that calls B, waits for it: the job's span is a child of this call's span.
        async echo(req, ctx) {
          ctx.logger.info("a handling");
          const id = jobs.start("relay", {}, async (job) => {
            job.logger.info("job calling b");
            return (await clientB.echo({ text: req.text })).text;
          });
          const done = await jobs.wait(id);
          return { text: String(done.result) };
        },
      },
    );
    const addrA = await serve(a);
    const clientA = createClient(TestingService, addrA, { retry: false });
    stops.push(() => clientA.close());

    const reply = await inSpan("synthmri test-command", () => clientA.echo({ text: "x" }));
    expect(reply.text).toBe("b:x");

    const spans = exporter.getFinishedSpans();
    const byName = (name: string, kind?: number) =>
      spans.filter((s) => s.name === name && (kind === undefined || s.kind === kind));
    const root = byName("synthmri test-command")[0];
    expect(root).toBeDefined();
    const traceId = root.spanContext().traceId;
    // Every span of the exchange is in the root's trace.
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([traceId]));
    const [clientToA, clientToB] = byName(`${SERVICE}/Echo`, 2 /* CLIENT */).sort(byStart);
    const [serverA, serverB] = byName(`${SERVICE}/Echo`, 1 /* SERVER */).sort(byStart);
    const job = byName("job relay")[0];
    expect(parentOf(clientToA)).toBe(root.spanContext().spanId);
    expect(parentOf(serverA)).toBe(clientToA.spanContext().spanId);
    expect(parentOf(job)).toBe(serverA.spanContext().spanId);
    expect(parentOf(clientToB)).toBe(job.spanContext().spanId);
    expect(parentOf(serverB)).toBe(clientToB.spanContext().spanId);
    // The downstream service got it through the metadata (W3C traceparent), not through in-process context.
    expect(seenByB[0]).toBe(`00-${traceId}-${clientToB.spanContext().spanId}-01`);
    expect(serverB.attributes).toMatchObject({
      "rpc.system": "grpc",
      "rpc.service": SERVICE,
      "rpc.method": "Echo",
      "rpc.grpc.status_code": 0,
    });
    expect(job.attributes).toMatchObject({ "job.kind": "relay" });
    // Nothing from the request or the metadata on any span.
    for (const s of spans) expect(JSON.stringify(s.attributes)).not.toContain('"x"');

    const line = (logs: Record<string, unknown>[], msg: string) => logs.find((l) => l.msg === msg);
    expect(line(logsA, "a handling")).toMatchObject({ trace_id: traceId, span_id: serverA.spanContext().spanId });
    expect(line(logsA, "job calling b")).toMatchObject({ trace_id: traceId, span_id: job.spanContext().spanId });
    expect(line(logsB, "b handled")).toMatchObject({ trace_id: traceId, span_id: serverB.spanContext().spanId });
    expect(line(logsB, "rpc")).toMatchObject({ trace_id: traceId, code: "OK" });
  });

  it("continues a trace a foreign client started (traceparent, tracestate) and marks server errors", async () => {
    const server = createServer({ metrics: false }).add(TestingService, {
      async echo() {
        throw new Error("boom");
      },
    });
    const addr = await serve(server);
    const client = createClient(TestingService, addr, { retry: false });
    stops.push(() => client.close());
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const md = new Metadata();
    md.set("traceparent", `00-${traceId}-00f067aa0ba902b7-01`);
    md.set("tracestate", "vendor=abc");
    // No active span here: the client span starts its own trace, so send the foreign header on a raw call.
    await expect(
      new Promise((resolve, reject) =>
        client.grpcClient.makeUnaryRequest(
          `/${SERVICE}/Echo`,
          () => Buffer.alloc(0),
          (b: Buffer) => b,
          {},
          md,
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      ),
    ).rejects.toMatchObject({ code: 13 });
    const serverSpan = exporter.getFinishedSpans().find((s) => s.kind === 1);
    expect(serverSpan?.spanContext().traceId).toBe(traceId);
    expect(parentOf(serverSpan!)).toBe("00f067aa0ba902b7");
    expect(serverSpan?.spanContext().traceState?.get("vendor")).toBe("abc");
    expect(serverSpan?.status.code).toBe(2 /* ERROR */);
    expect(serverSpan?.attributes["rpc.grpc.status_code"]).toBe(13);
    expect(serverSpan?.status.message).toBe("INTERNAL");
  });
  it("a listener that does not trust callers (trustTraceContext: false) starts its own trace, linked to the caller's", async () => {
    const server = createServer({ metrics: false, trustTraceContext: false }).add(TestingService, {
      echo: async () => ({ text: "" }),
    });
    const client = createClient(TestingService, await serve(server), { retry: false });
    stops.push(() => client.close());
    await inSpan("partner tool", () => client.echo({ text: "" }));
    const spans = exporter.getFinishedSpans();
    const clientSpan = spans.find((s) => s.kind === 2);
    const serverSpan = spans.find((s) => s.kind === 1);
    expect(serverSpan?.spanContext().traceId).not.toBe(clientSpan?.spanContext().traceId);
    expect(serverSpan?.parentSpanContext).toBeUndefined();
    expect(serverSpan?.links.map((l) => l.context.spanId)).toEqual([clientSpan?.spanContext().spanId]);
  });
});

describe("tracing off (the default)", () => {
  it("registers nothing, adds no metadata and no log fields", async () => {
    const tracing = await initTracing({ service: "test", env: {} });
    expect(tracing.enabled).toBe(false);
    const lines: Record<string, unknown>[] = [];
    const logger = createLogger({ name: "t", stream: { write: (l: string) => lines.push(JSON.parse(l)) } });
    const seen: string[] = [];
    const server = createServer({ metrics: false }).add(TestingService, {
      async echo(_req, ctx) {
        seen.push(...Object.keys(ctx.metadata.getMap()));
        logger.info("handled");
        return { text: "" };
      },
    });
    const port = await server.listen("127.0.0.1", 0);
    const client = createClient(TestingService, `127.0.0.1:${port}`, { retry: false });
    try {
      await inSpan("cmd", () => client.echo({ text: "" }));
      expect(seen).not.toContain("traceparent");
      expect(lines[0]).not.toHaveProperty("trace_id");
    } finally {
      client.close();
      await server.shutdown(1000);
    }
  });
});

function byStart(x: ReadableSpan, y: ReadableSpan): number {
  return x.startTime[0] - y.startTime[0] || x.startTime[1] - y.startTime[1];
}

function parentOf(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
