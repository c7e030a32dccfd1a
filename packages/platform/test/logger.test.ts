import { describe, expect, it } from "vitest";
import { createLogger, InvalidInput } from "../src/index.js";

function capture() {
  const lines: string[] = [];
  return { lines, stream: { write: (l: string) => lines.push(l) }, parsed: () => lines.map((l) => JSON.parse(l)) };
}

const fixedNow = () => new Date("2026-01-02T03:04:05.000Z");

describe("createLogger", () => {
  it("writes one JSON line per event with level filtering and child fields", () => {
    const out = capture();
    const log = createLogger({ name: "ingest", level: "info", stream: out.stream, now: fixedNow });
    log.debug("hidden");
    log.info("started", { port: 50051 });
    log.child({ jobId: "j1" }).child({ phase: "import" }).warn("slow", { ms: 12 });
    expect(out.lines.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    expect(out.parsed()).toEqual([
      { time: "2026-01-02T03:04:05.000Z", level: "info", name: "ingest", msg: "started", port: 50051 },
      {
        time: "2026-01-02T03:04:05.000Z",
        level: "warn",
        name: "ingest",
        msg: "slow",
        jobId: "j1",
        phase: "import",
        ms: 12,
      },
    ]);
    const silent = capture();
    createLogger({ name: "x", level: "silent", stream: silent.stream }).error("nothing");
    expect(silent.lines).toEqual([]);
  });

  it("never logs voxel data: typed arrays, Buffers and long arrays become placeholders", () => {
    const out = capture();
    const log = createLogger({ name: "t", level: "debug", stream: out.stream });
    const voxels = new Float32Array(240 * 240).fill(0.5);
    log.info("tensor", {
      voxels,
      nested: { deep: { buf: Buffer.alloc(1000, 7), ab: new ArrayBuffer(64) } },
      list: Array.from({ length: 1000 }, (_, i) => i),
      short: [1, 2, 3],
    });
    const [line] = out.parsed();
    expect(line.voxels).toBe(`[binary Float32Array ${voxels.byteLength} bytes omitted]`);
    expect(line.nested.deep.buf).toBe("[binary Buffer 1000 bytes omitted]");
    expect(line.nested.deep.ab).toBe("[binary 64 bytes omitted]");
    expect(line.list).toBe("[array of 1000 items omitted]");
    expect(line.short).toEqual([1, 2, 3]);
    expect(out.lines[0].length).toBeLessThan(1000);
  });

  it("serialises errors, cycles and bigints safely", () => {
    const out = capture();
    const log = createLogger({ name: "t", stream: out.stream });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    log.error("boom", { err: new InvalidInput("bad slice", { cause: new Error("root") }), cyclic, n: 10n });
    const [line] = out.parsed();
    expect(line.err).toMatchObject({ name: "InvalidInput", kind: "InvalidInput", message: "bad slice" });
    expect(line.err.cause.message).toBe("root");
    expect(line.cyclic).toEqual({ a: 1, self: "[circular]" });
    expect(line.n).toBe("10");
  });
});
