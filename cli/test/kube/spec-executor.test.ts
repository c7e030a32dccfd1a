// The spec's executor section: local by default, Kubernetes settings validated with defaults, and the experiment
// id independent of where the runs train (a run moved to the cluster keeps its id and its outputs).
import { describe, expect, it } from "vitest";
import { experimentIdOf } from "../../src/experiment/session.js";
import { validateSpec } from "../../src/experiment/spec.js";

describe("spec executor", () => {
  it("defaults to local and fills the Kubernetes defaults", () => {
    const s = validateSpec({ name: "x" });
    expect(s.executor).toBe("local");
    expect(s.kubernetes).toMatchObject({ namespace: "default", release: "synthmri", gpus: 0, backoffLimitPerIndex: 3 });
  });

  it("accepts kubernetes and refuses an unknown executor or a bad namespace", () => {
    expect(validateSpec({ name: "x", executor: "kubernetes", kubernetes: { gpus: 8 } }).kubernetes.gpus).toBe(8);
    expect(() => validateSpec({ name: "x", executor: "slurm" })).toThrow(/executor/);
    expect(() => validateSpec({ name: "x", kubernetes: { namespace: "Bad_NS" } })).toThrow(/namespace/);
  });

  it("gives the same experiment id whichever executor runs it", () => {
    const local = validateSpec({ name: "x" });
    const kube = validateSpec({ name: "x", executor: "kubernetes", kubernetes: { gpus: 8, namespace: "synthmri" } });
    expect(experimentIdOf(kube)).toBe(experimentIdOf(local));
    expect(experimentIdOf(validateSpec({ name: "x", seed: 1 }))).not.toBe(experimentIdOf(local));
  });
});
