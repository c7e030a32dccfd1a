import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConfigError,
  createMetricsRegistry,
  instrumentJobs,
  instrumentObjectStore,
  JobRunner,
  loadConfig,
  MemoryObjectStore,
  NotFound,
  setComputeBackend,
} from "../src/index.js";

async function value(registry: ReturnType<typeof createMetricsRegistry>, name: string, labels: Record<string, string>) {
  const metric = registry.getSingleMetric(name);
  if (!metric) return undefined;
  const { values } = await metric.get();
  const hit = values.find((v) => Object.entries(labels).every(([k, l]) => String(v.labels[k]) === l));
  return hit?.value;
}

describe("job metrics", () => {
  it("tracks progress of running jobs and counts state transitions", async () => {
    const registry = createMetricsRegistry("svc", { processMetrics: false });
    const runner = new JobRunner({ store: new MemoryObjectStore(), service: "svc" });
    const stop = instrumentJobs(runner, registry);
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let reported!: () => void;
    const progressed = new Promise<void>((r) => {
      reported = r;
    });
    const id = runner.start("train", {}, async (ctx) => {
      ctx.progress({ fraction: 0.4 });
      reported();
      await gate;
      return {};
    });
    await progressed;
    expect(await value(registry, "synthmri_job_progress", { kind: "train", job: id })).toBe(0.4);
    expect(await value(registry, "synthmri_jobs_active", { kind: "train", state: "RUNNING" })).toBe(1);
    release();
    await runner.wait(id);
    const failed = runner.start("train", {}, async () => {
      throw new Error("boom");
    });
    await runner.wait(failed).catch(() => undefined);
    expect(await value(registry, "synthmri_job_progress", { kind: "train", job: id })).toBeUndefined();
    expect(await value(registry, "synthmri_jobs_active", { kind: "train", state: "RUNNING" })).toBe(0);
    expect(await value(registry, "synthmri_job_transitions_total", { kind: "train", state: "SUCCEEDED" })).toBe(1);
    expect(await value(registry, "synthmri_job_transitions_total", { kind: "train", state: "FAILED" })).toBe(1);
    expect(await value(registry, "synthmri_job_transitions_total", { kind: "train", state: "RUNNING" })).toBe(2);
    stop();
    await runner.shutdown({ graceMs: 100 });
  });
});

describe("object store and backend metrics", () => {
  it("counts failed store operations by operation and kind, passing results and errors through", async () => {
    const registry = createMetricsRegistry("svc", { processMetrics: false });
    const store = instrumentObjectStore(new MemoryObjectStore("b"), registry);
    expect(store.bucket).toBe("b");
    await expect(store.putObject("a/x", "hello")).rejects.toThrow(/ensureBucket/);
    await store.ensureBucket();
    await store.putObject("a/x", "hello");
    expect((await store.getBuffer("a/x")).toString()).toBe("hello");
    await expect(store.getBuffer("a/missing")).rejects.toThrow(NotFound);
    await expect(store.statObject("a/missing")).rejects.toThrow(NotFound);
    const keys: string[] = [];
    for await (const o of store.listObjects("a/")) keys.push(o.key);
    expect(keys).toEqual(["a/x"]);
    expect(
      await value(registry, "synthmri_object_store_errors_total", { operation: "getBuffer", kind: "NotFound" }),
    ).toBe(1);
    expect(
      await value(registry, "synthmri_object_store_errors_total", { operation: "statObject", kind: "NotFound" }),
    ).toBe(1);
    expect(await value(registry, "synthmri_object_store_errors_total", { operation: "putObject" })).toBe(1);
    expect(await value(registry, "synthmri_object_store_errors_total", { operation: "listObjects" })).toBeUndefined();
  });

  it("reports the one compute backend in use", async () => {
    const registry = createMetricsRegistry("svc", { processMetrics: false });
    setComputeBackend(registry, "cpu");
    setComputeBackend(registry, "wasm");
    expect(await value(registry, "synthmri_compute_backend", { backend: "wasm" })).toBe(1);
    expect(await value(registry, "synthmri_compute_backend", { backend: "cpu" })).toBeUndefined();
    expect(await registry.metrics()).toContain('service="svc"');
  });
});

describe("secrets from files (*_FILE)", () => {
  const dir = mkdtempSync(join(tmpdir(), "platform-secret-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("reads and trims S3 keys and the de-identification salt from files", () => {
    writeFileSync(join(dir, "ak"), "access-key\n");
    writeFileSync(join(dir, "sk"), "  secret-key  \n");
    writeFileSync(join(dir, "salt"), "0123456789abcdef0123\n");
    const c = loadConfig(
      {
        S3_ENDPOINT: "minio:9000",
        S3_ACCESS_KEY_FILE: "ak",
        S3_SECRET_KEY_FILE: join(dir, "sk"),
        DEID_SALT_FILE: "salt",
      },
      dir,
    );
    expect(c.s3).toMatchObject({ endpoint: "http://minio:9000", accessKey: "access-key", secretKey: "secret-key" });
    expect(c.deidSalt).toBe("0123456789abcdef0123");
  });

  it("names the variable when the file is missing, empty, or set with the inline variable", () => {
    writeFileSync(join(dir, "empty"), "\n");
    const bad: [Record<string, string>, string, RegExp][] = [
      [{ S3_ACCESS_KEY_FILE: "nope" }, "S3_ACCESS_KEY_FILE", /cannot read .*nope/],
      [{ DEID_SALT_FILE: "empty" }, "DEID_SALT_FILE", /empty/],
      [{ S3_SECRET_KEY: "x", S3_SECRET_KEY_FILE: "empty" }, "S3_SECRET_KEY_FILE", /only one/],
      [{ DEID_SALT_FILE: join(dir, "ak") }, "DEID_SALT", /16/],
    ];
    for (const [env, variable, message] of bad) {
      let err: unknown;
      try {
        loadConfig(env, dir);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).variable).toBe(variable);
      expect((err as ConfigError).message).toMatch(message);
    }
  });
});
