// Huge inputs (issue 17.2): megabyte-sized string and bytes fields, one field at a time, on every RPC of
// every service (found by walking the contracts' descriptors, so new RPCs are covered without editing this
// file). Every call must end fast with a clear status (never INTERNAL/UNKNOWN, never a details echo the size
// of the input), and each server must still answer health afterwards.
import { create, type DescField, type DescMessage, type DescService, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import {
  EvaluatorService,
  GeneratorService,
  GetDatasetRequestSchema,
  IngestService,
  JobService,
  PartnerService,
  SegmenterService,
} from "@synthmri/contracts";
import type { ServiceName } from "@synthmri/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { scrubText } from "../../services/ingest/src/adapters/scrub-logger.js";
import { healthStatus, PARTNER_TOKEN, rawCall, type Rig, startRig } from "./rig.js";

const MiB = 1024 * 1024;
const HUGE_STRING = "x".repeat(MiB);
const HUGE_BYTES = new Uint8Array(MiB).fill(0x41);
/** A clear status arrives well within this, even on a loaded 2-core CI runner. */
const FAST_MS = 5000;

interface Target {
  service: DescService;
  address: (rig: Rig) => string;
  metadata?: Record<string, string>;
}

const targets: Target[] = [
  ...(["ingest", "generator", "segmenter", "evaluator"] as ServiceName[]).map((s) => ({
    service: JobService,
    address: (rig: Rig) => rig.address[s],
  })),
  { service: IngestService, address: (rig) => rig.address.ingest },
  { service: GeneratorService, address: (rig) => rig.address.generator },
  { service: SegmenterService, address: (rig) => rig.address.segmenter },
  { service: EvaluatorService, address: (rig) => rig.address.evaluator },
  {
    service: PartnerService,
    address: (rig) => rig.partnerAddress,
    metadata: { authorization: `Bearer ${PARTNER_TOKEN}` },
  },
];

/** Request variants: for each string/bytes field (top level, and one level into message fields), one request. */
export function hugeVariants(message: DescMessage, depth = 0): { field: string; init: Record<string, unknown> }[] {
  const out: { field: string; init: Record<string, unknown> }[] = [];
  for (const f of message.fields) {
    for (const { label, value } of fieldValues(f, depth)) {
      const init = f.oneof ? { [f.oneof.localName]: { case: f.localName, value } } : { [f.localName]: value };
      out.push({ field: `${f.name}${label}`, init });
    }
  }
  return out;
}

function fieldValues(f: DescField, depth: number): { label: string; value: unknown }[] {
  const wrap = (v: unknown) => (f.fieldKind === "list" ? [v] : v);
  if (f.fieldKind === "map") {
    return f.mapKey === 9 /* string */ ? [{ label: "{key}", value: { [HUGE_STRING]: mapDefault(f) } }] : [];
  }
  const scalar = f.fieldKind === "scalar" || (f.fieldKind === "list" && f.listKind === "scalar") ? f.scalar : undefined;
  if (scalar === 9) return [{ label: "", value: wrap(HUGE_STRING) }];
  if (scalar === 12) return [{ label: "", value: wrap(HUGE_BYTES) }];
  const nested =
    f.fieldKind === "message" ? f.message : f.fieldKind === "list" && f.listKind === "message" ? f.message : undefined;
  if (!nested || depth >= 1 || nested.typeName.startsWith("google.protobuf.")) return [];
  return hugeVariants(nested, depth + 1).map((v) => ({ label: `.${v.field}`, value: wrap(create(nested, v.init)) }));
}

function mapDefault(f: DescField): unknown {
  if (f.fieldKind !== "map") return undefined;
  if (f.mapKind === "message") return create(f.message);
  if (f.mapKind === "enum") return 0;
  return f.scalar === 9 ? "" : f.scalar === 8 ? false : 0;
}

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
}, 180_000);
afterAll(async () => {
  await rig?.close();
});

describe("megabyte-sized fields on every RPC", () => {
  it("scrubs a 7 MiB message in linear time", () => {
    const t = performance.now();
    const out = scrubText(`dataset "${"a".repeat(7 * MiB)}" not found: file /x/BraTS_1_t1.nii.gz`);
    expect(performance.now() - t).toBeLessThan(1000);
    expect(out.length).toBeLessThan(4000);
    expect(out).toMatch(/\[file\]$/);
  });

  it("GetDataset with a 7 MiB dataset_id: NOT_FOUND or INVALID_ARGUMENT at once, bounded details, health still answers", async () => {
    const body = toBinary(GetDatasetRequestSchema, create(GetDatasetRequestSchema, { datasetId: "d".repeat(7 * MiB) }));
    const calls = await Promise.all(
      Array.from({ length: 3 }, () =>
        rawCall(rig.address.ingest, "/synthmri.ingest.v1.IngestService/GetDataset", "unary", [body]),
      ),
    );
    for (const s of calls) {
      expect([grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND], s.details).toContain(s.code);
      expect(s.details.length).toBeLessThan(2100);
      expect(s.ms).toBeLessThan(FAST_MS);
    }
    expect(await healthStatus(rig.address.ingest)).toBe(1);
  });

  for (const target of targets) {
    it(`${target.service.typeName}: every string/bytes field at 1 MiB gets a clear status fast`, async () => {
      const problems: string[] = [];
      let calls = 0;
      for (const method of target.service.methods) {
        for (const variant of hugeVariants(method.input)) {
          const body = toBinary(method.input, create(method.input, variant.init));
          const path = `/${target.service.typeName}/${method.name}`;
          const s = await rawCall(target.address(rig), path, method.methodKind, [body], {
            metadata: target.metadata,
            deadlineMs: 30_000,
          });
          calls++;
          const where = `${method.name}(${variant.field})`;
          if (s.code === grpc.status.INTERNAL || s.code === grpc.status.UNKNOWN)
            problems.push(`${where}: ${grpc.status[s.code]} ${s.details.slice(0, 200)}`);
          if (s.code === grpc.status.DEADLINE_EXCEEDED) problems.push(`${where}: no answer in 30 s`);
          else if (s.ms > FAST_MS) problems.push(`${where}: ${Math.round(s.ms)} ms`);
          if (s.details.length > 2100) problems.push(`${where}: ${s.details.length} chars of details`);
        }
      }
      expect(problems).toEqual([]);
      expect(calls).toBeGreaterThan(0);
      expect(await healthStatus(target.address(rig))).toBe(1);
    });
  }
});
