import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, configDocs, ensureDeidSalt, loadConfig, renderConfigMarkdown } from "../src/index.js";

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, "/work");
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(env)}`);
}

describe("loadConfig", () => {
  it("gives documented defaults with an empty environment", () => {
    const c = loadConfig({}, "/work");
    expect(c.host).toBe("127.0.0.1");
    expect(c.services.ingest).toEqual({ port: 50051, addr: "127.0.0.1:50051" });
    expect(c.services.evaluator.port).toBe(50054);
    expect(c.dataDir).toBe("/work/.data");
    expect(c.s3).toEqual({
      endpoint: undefined,
      accessKey: undefined,
      secretKey: undefined,
      bucket: "synthmri",
      region: "us-east-1",
      useSsl: false,
    });
    expect(c.logLevel).toBe("info");
    expect(c.tfBackend).toBe("auto");
    expect(c.grpc).toEqual({ maxMessageBytes: 8 * 1024 * 1024, shutdownGraceMs: 10_000, clientStreamIdleMs: 60_000 });
    expect(c.tls.enabled).toBe(false);
    expect(c.keepIdMapping).toBe(false);
    expect(c.metricsPort).toBeUndefined();
    expect(c.jobConcurrency).toBe(1);
  });

  it("reads every variable", () => {
    const c = loadConfig(
      {
        HOST: "0.0.0.0",
        INGEST_PORT: "0",
        GENERATOR_PORT: "6000",
        SEGMENTER_ADDR: "seg:7000",
        SYNTHMRI_DATA_DIR: "state",
        S3_ENDPOINT: "minio:9000",
        S3_USE_SSL: "yes",
        S3_ACCESS_KEY: "ak",
        S3_SECRET_KEY: "sk",
        S3_BUCKET: "my.bucket-1",
        LOG_LEVEL: "debug",
        TF_BACKEND: "wasm",
        GRPC_MAX_MESSAGE_BYTES: "1048576",
        DEID_SALT: "0123456789abcdef",
        KEEP_ID_MAPPING: "true",
        PARTNER_TOKENS_FILE: "tokens.json",
        PARTNER_PORT: "6001",
        METRICS_PORT: "9464",
        JOB_CONCURRENCY: "3",
      },
      "/srv",
    );
    expect(c.services.ingest).toEqual({ port: 0, addr: undefined });
    expect(c.services.generator).toEqual({ port: 6000, addr: "127.0.0.1:6000" });
    expect(c.services.segmenter.addr).toBe("seg:7000");
    expect(c.dataDir).toBe("/srv/state");
    expect(c.s3).toMatchObject({ endpoint: "https://minio:9000", bucket: "my.bucket-1", accessKey: "ak" });
    expect(c.logLevel).toBe("debug");
    expect(c.tfBackend).toBe("wasm");
    expect(c.grpc.maxMessageBytes).toBe(1048576);
    expect(c.deidSalt).toBe("0123456789abcdef");
    expect(c.keepIdMapping).toBe(true);
    expect(c.partnerTokensFile).toBe("/srv/tokens.json");
    expect(c.partnerPort).toBe(6001);
    expect(loadConfig({}).partnerPort).toBe(50055);
    expect(() => loadConfig({ PARTNER_TOKENS_FILE: "t.json", GENERATOR_PORT: "7000", PARTNER_PORT: "7000" })).toThrow(
      /PARTNER_PORT.*GENERATOR_PORT/,
    );
    expect(c.metricsPort).toBe(9464);
    expect(c.jobConcurrency).toBe(3);
    expect(
      loadConfig({ S3_ENDPOINT: "http://10.0.0.5:9000", S3_ACCESS_KEY: "a", S3_SECRET_KEY: "b" }).s3.endpoint,
    ).toBe("http://10.0.0.5:9000");
  });

  it("rejects bad values with one line naming the variable and the accepted values", () => {
    const cases: [Record<string, string>, string, RegExp][] = [
      [{ INGEST_PORT: "70000" }, "INGEST_PORT", /0-65535/],
      [{ EVALUATOR_PORT: "abc" }, "EVALUATOR_PORT", /not a port/],
      [{ TF_BACKEND: "cuda" }, "TF_BACKEND", /auto\|tensorflow-gpu\|tensorflow\|wasm\|cpu/],
      [{ LOG_LEVEL: "loud" }, "LOG_LEVEL", /debug\|info\|warn\|error/],
      [{ S3_USE_SSL: "maybe" }, "S3_USE_SSL", /true\|false/],
      [{ S3_BUCKET: "Bad_Bucket" }, "S3_BUCKET", /bucket name/],
      [{ S3_ENDPOINT: "http://minio:9000" }, "S3_ACCESS_KEY", /must be set/],
      [{ S3_ENDPOINT: "ftp://x", S3_ACCESS_KEY: "a", S3_SECRET_KEY: "b" }, "S3_ENDPOINT", /http\(s\)/],
      [{ GRPC_MAX_MESSAGE_BYTES: "12" }, "GRPC_MAX_MESSAGE_BYTES", /between 65536 and/],
      [{ JOB_CONCURRENCY: "0" }, "JOB_CONCURRENCY", /between 1 and 64/],
      [{ INGEST_ADDR: "nohostport" }, "INGEST_ADDR", /host:port/],
      [{ DEID_SALT: "short" }, "DEID_SALT", /at least 16/],
      [{ TLS_CERT: "/no/such/cert.pem" }, "TLS_CERT", /does not exist/],
      [{ TLS_CLIENT_AUTH: "true" }, "TLS_CLIENT_AUTH", /TLS_CA/],
    ];
    for (const [env, variable, accepted] of cases) {
      const e = configError(env);
      expect(e.variable).toBe(variable);
      expect(e.message.startsWith(`${variable}: `)).toBe(true);
      expect(e.message).toMatch(accepted);
      expect(e.message).not.toContain("\n");
    }
  });

  it("accepts a full mTLS setup", () => {
    const dir = mkdtempSync(join(tmpdir(), "platform-tls-"));
    for (const f of ["c.pem", "k.pem", "ca.pem"]) writeFileSync(join(dir, f), "PEM");
    const c = loadConfig({ TLS_CERT: "c.pem", TLS_KEY: "k.pem", TLS_CA: "ca.pem", TLS_CLIENT_AUTH: "1" }, dir);
    expect(c.tls).toEqual({
      certFile: join(dir, "c.pem"),
      keyFile: join(dir, "k.pem"),
      caFile: join(dir, "ca.pem"),
      clientAuth: true,
      enabled: true,
    });
    rmSync(dir, { recursive: true, force: true });
  });

  it("documents exactly the variables it reads, and CONFIG.md is fresh", () => {
    const read = new Set<string>();
    const env = new Proxy({} as Record<string, string | undefined>, {
      get: (_t, name) => {
        if (typeof name === "string") read.add(name);
        return undefined;
      },
    });
    loadConfig(env, "/work");
    expect([...read].sort()).toEqual(
      configDocs()
        .map((d) => d.name)
        .sort(),
    );
    const onDisk = readFileSync(new URL("../CONFIG.md", import.meta.url), "utf8");
    expect(onDisk, "CONFIG.md is stale: run npm run config:docs -w @synthmri/platform").toBe(renderConfigMarkdown());
  });

  it("creates one random de-identification salt per data dir and keeps it", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "platform-salt-"));
    const a = await ensureDeidSalt({ dataDir, deidSalt: undefined });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await ensureDeidSalt({ dataDir, deidSalt: undefined })).toBe(a);
    expect(statSync(join(dataDir, "deid-salt")).mode & 0o777).toBe(0o600);
    expect(await ensureDeidSalt({ dataDir, deidSalt: "given-salt-0123456789" })).toBe("given-salt-0123456789");
    rmSync(dataDir, { recursive: true, force: true });
  });
});
