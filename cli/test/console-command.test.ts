// `synthmri console` argument handling (the browser test covers the console itself).
import { afterEach, describe, expect, it, vi } from "vitest";
import { run } from "../src/commands/console.js";

describe("synthmri console arguments", () => {
  afterEach(() => vi.restoreAllMocks());

  it("wants all four service addresses or none", async () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    expect(await run(["--ingest", "127.0.0.1:1", "--segmenter", "127.0.0.1:2"])).toBe(2);
    expect(err.mock.calls.join(" ")).toMatch(/all four service addresses or none \(got ingest, segmenter\)/);
  });

  it("rejects a port out of range and prints usage on --help", async () => {
    const err = vi.spyOn(console, "error").mockImplementation(() => {});
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    expect(await run(["--port", "70000"])).toBe(2);
    expect(err.mock.calls.join(" ")).toMatch(/--port must be 0\.\.65535/);
    expect(await run(["--help"])).toBe(0);
    expect(log.mock.calls.join(" ")).toMatch(/usage: synthmri console/);
  });
});

describe("the hint a run ends with", () => {
  it("names the console command for the run's data dir, or the running services' addresses", async () => {
    const { consoleHint } = await import("../src/experiment/session.js");
    expect(consoleHint(".data")).toMatch(/npx synthmri console --data-dir \.data /);
    const connect = { ingest: "h:1", generator: "h:2", segmenter: "h:3", evaluator: "h:4" };
    expect(consoleHint(".data", connect)).toMatch(
      /npx synthmri console --ingest h:1 --generator h:2 --segmenter h:3 --evaluator h:4 /,
    );
  });
});
