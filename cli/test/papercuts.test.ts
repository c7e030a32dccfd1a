// The CLI papercuts of issue 19, each with the check that would have caught it.
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeNifti } from "@synthmri/volume";
import { afterEach, describe, expect, it, vi } from "vitest";
import { run as nifti } from "../src/commands/nifti.js";
import { decodeXyztUnits, formatInfoText } from "../src/commands/nifti-text.js";
import { run as partner } from "../src/commands/partner.js";
import { run as phantom, summary as phantomSummary } from "../src/commands/phantom.js";
import { summary as niftiSummary } from "../src/commands/nifti.js";
import { summary as partnerSummary } from "../src/commands/partner.js";
import { commands, main } from "../src/main.js";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  return { out: () => out.join("\n"), err: () => err.join("\n") };
}

function tinyNifti(): string {
  const dir = mkdtempSync(join(tmpdir(), "synthmri-papercuts-"));
  const file = join(dir, "t1.nii.gz");
  const eye = [
    [1, 0, 0, 0],
    [0, 1, 0, 0],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  writeFileSync(file, writeNifti({ shape: [2, 2, 2], data: new Int16Array(8).fill(3), affine: eye as never }));
  return file;
}

/** A port that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("synthmri --version and --help", () => {
  it("--version prints the suite's version", async () => {
    const io = capture();
    expect(await main(["--version"])).toBe(0);
    expect(io.out()).toMatch(/^synthmri \d+\.\d+\.\d+/);
  });

  it("--help lists each command with its summary", async () => {
    const io = capture();
    expect(await main(["--help"])).toBe(0);
    for (const [name, c] of Object.entries(commands)) {
      expect(c.summary.length).toBeGreaterThan(10);
      expect(io.out()).toMatch(new RegExp(`^  ${name} +${c.summary.replace(/[()]/g, "\\$&")}$`, "m"));
    }
  });

  it("the help table's summaries are the commands' own exports", () => {
    expect(commands.nifti.summary).toBe(niftiSummary);
    expect(commands.phantom.summary).toBe(phantomSummary);
    expect(commands.partner.summary).toBe(partnerSummary);
  });
});

describe("synthmri nifti info", () => {
  it("rejects an unknown flag (--jsn) with exit 2 and a message", async () => {
    const io = capture();
    expect(await nifti(["info", tinyNifti(), "--jsn"])).toBe(2);
    expect(io.err()).toContain("--jsn");
    expect(io.out()).toBe("");
  });

  it("names the path of a directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "synthmri-dir-"));
    const io = capture();
    expect(await nifti(["info", dir])).toBe(1);
    expect(io.err()).toContain(dir);
    expect(io.err()).toContain("is a directory");
  });

  it("text mode shows plain values and decoded xyzt_units", async () => {
    const io = capture();
    expect(await nifti(["info", tinyNifti()])).toBe(0);
    const text = io.out();
    expect(text).toMatch(/^xyzt_units\s+10 \(space mm, time s\)$/m);
    expect(text).toMatch(/^shape\s+2 2 2$/m);
    expect(text).toMatch(/^endianness\s+little$/m);
    expect(text).not.toContain('"');
  });

  it("--json still prints the reference.json field names", async () => {
    const io = capture();
    expect(await nifti(["info", tinyNifti(), "--json"])).toBe(0);
    expect(JSON.parse(io.out()).xyzt_units).toBe(10);
  });

  it("decodes xyzt_units as NIfTI-1 defines it", () => {
    expect(decodeXyztUnits(10)).toEqual({ space: "mm", time: "s" });
    expect(decodeXyztUnits(2 | 16)).toEqual({ space: "mm", time: "ms" });
    expect(decodeXyztUnits(0)).toEqual({ space: "unknown", time: "unknown" });
    expect(formatInfoText({ affine: [[1, 0], [0, 1]] })).toEqual(["affine           1 0", "                 0 1"]);
  });
});

describe("synthmri phantom", () => {
  it("says which option is missing", async () => {
    const io = capture();
    expect(await phantom(["--subjects", "2"])).toBe(2);
    expect(io.err()).toContain("missing --out");
    expect(io.err()).not.toContain("missing --subjects");
  });
});

describe("synthmri partner", () => {
  it("a closed port gives a clear message, no empty 'Resolution note:'", async () => {
    const port = await closedPort();
    const err: string[] = [];
    const code = await partner(
      ["request", "--size", "1", "--out", join(tmpdir(), "never"), "--addr", `127.0.0.1:${port}`, "--token", "t"],
      { out: () => {}, err: (l) => err.push(l), env: {} },
    );
    expect(code).toBe(1);
    const text = err.join("\n");
    expect(text).toContain(`cannot reach the partner service at 127.0.0.1:${port}: connection refused`);
    expect(text).not.toContain("Resolution note");
  });
});
