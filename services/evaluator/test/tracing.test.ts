// One OpenTelemetry trace from a CLI-style command span through the evaluator (real server, real job runner) to the
// segmenter it calls over gRPC (a fake SegmenterService on its own server), with the trace id in the log lines.
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { JobState, Split } from "@synthmri/contracts";
import { createLogger, inSpan, initTracing, type Tracing } from "@synthmri/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, realDataset, startHarness } from "./fakes.js";

const exporter = new InMemorySpanExporter();
const logs: Record<string, unknown>[] = [];
let tracing: Tracing;
let h: Harness;

beforeAll(async () => {
  tracing = await initTracing({ service: "evaluator-test", exporter });
  const logger = createLogger({
    name: "evaluator",
    level: "debug",
    stream: { write: (l) => logs.push(JSON.parse(l)) },
  });
  h = await startHarness([realDataset("real-1")], { logger });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await tracing?.shutdown();
});

describe("tracing across services", () => {
  it("CLI span -> Evaluate -> LoadModel on the segmenter, and the job -> SegmentDataset, share one trace", async () => {
    const res = await inSpan("synthmri evaluate", () =>
      h.evaluator.evaluate({ modelId: "truth", datasetId: "real-1", split: Split.TEST, condition: "truth" }),
    );
    expect((await h.waitJob(res.jobId)).state).toBe(JobState.SUCCEEDED);
    const spans = exporter.getFinishedSpans();
    const root = spans.find((s) => s.name === "synthmri evaluate");
    expect(root).toBeDefined();
    const traceId = root!.spanContext().traceId;
    const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
    const CLIENT = 2;
    const SERVER = 1;
    // The span `name` of `kind` whose parent is `parentSpan` (the job calls LoadModel and SegmentDataset too).
    const childOf = (parentSpan: ReadableSpan | undefined, name: string, kind: number) => {
      const found = inTrace.find(
        (s) => s.name === name && s.kind === kind && parent(s) === parentSpan?.spanContext().spanId,
      );
      expect(found, `${name} (kind ${kind}) under ${parentSpan?.name}`).toBeDefined();
      return found as ReadableSpan;
    };
    const EVALUATE = "synthmri.evaluator.v1.EvaluatorService/Evaluate";
    const LOAD = "synthmri.segmenter.v1.SegmenterService/LoadModel";
    const SEGMENT = "synthmri.segmenter.v1.SegmenterService/SegmentDataset";
    const evalClient = childOf(root, EVALUATE, CLIENT);
    const evalServer = childOf(evalClient, EVALUATE, SERVER);
    const loadClient = childOf(evalServer, LOAD, CLIENT);
    childOf(loadClient, LOAD, SERVER);
    const job = inTrace.find((s) => s.name.startsWith("job ") && parent(s) === id(evalServer));
    expect(job, "the evaluation job's span, child of the Evaluate call").toBeDefined();
    const segClient = inTrace.find((s) => s.name === SEGMENT && s.kind === CLIENT);
    expect(segClient).toBeDefined();
    expect(ancestors(segClient!, inTrace)).toContain(id(job!));
    const segServer = childOf(segClient, SEGMENT, SERVER);
    expect(segServer.attributes["rpc.grpc.status_code"]).toBe(0);
    // Nothing from the request (dataset id, model id) on the spans.
    for (const s of inTrace) expect(JSON.stringify(s.attributes)).not.toMatch(/real-1|truth/);

    const jobLines = logs.filter((l) => l.jobId === res.jobId);
    expect(jobLines.length).toBeGreaterThan(0);
    for (const l of jobLines) expect(l.trace_id).toBe(traceId);
    expect(jobLines.find((l) => l.msg === "job started")?.span_id).toBe(id(job!));
  }, 120_000);
});

function id(s: ReadableSpan): string {
  return s.spanContext().spanId;
}

function parent(s: ReadableSpan): string | undefined {
  return s.parentSpanContext?.spanId;
}

function ancestors(s: ReadableSpan, all: ReadableSpan[]): string[] {
  const out: string[] = [];
  for (let p = parent(s); p; p = parent(all.find((x) => id(x) === p) ?? ({} as ReadableSpan))) out.push(p);
  return out;
}
