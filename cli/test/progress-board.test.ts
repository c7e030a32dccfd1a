import { describe, expect, it } from "vitest";
import { formatBar, formatSeconds, ProgressBoard } from "../src/ui/progress-board.js";

describe("progress board", () => {
  it("draws bars and durations", () => {
    expect(formatBar(0.5, 10)).toBe("[#####-----]");
    expect(formatBar(Number.NaN, 4)).toBe("[----]");
    expect(formatBar(2, 4)).toBe("[####]");
    expect(formatSeconds(75)).toBe("1m15s");
    expect(formatSeconds(9.4)).toBe("9s");
  });

  it("prints a line per state change and per 10 % step when not on a terminal", () => {
    const lines: string[] = [];
    let t = 0;
    const board = new ProgressBoard({ write: (s: string) => lines.push(s) }, () => t);
    board.add("gan", "GAN member 1/2", "generator@127.0.0.1:1");
    board.update("gan", { state: "running", fraction: 0.01, message: "4x4" });
    board.update("gan", { fraction: 0.03 }); // same 10 % step: no line
    t = 65_000;
    board.update("gan", { fraction: 0.25, message: "8x8" });
    board.update("gan", { state: "done" });
    board.close();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toContain("GAN member 1/2");
    expect(lines[0]).toContain("(generator@127.0.0.1:1)");
    expect(lines[1]).toContain(" 25%");
    expect(lines[1]).toContain("1m05s");
    expect(lines[2]).toMatch(/✓ GAN member 1\/2 .*\[#{24}\] done/);
  });
});
