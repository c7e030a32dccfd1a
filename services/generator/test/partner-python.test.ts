// The partner kit's Python client (partner-kit/python, grpcio + protobuf from Debian) against a running generator's
// partner listener (FakeSampler instead of GAN sampling): request -> watch -> download with sha256 checks, then the
// archive over HTTP with a resumed Range download. Issue 19.4. Skips, saying why, where python3-grpcio is missing
// (.ci/run installs python3-grpcio and python3-protobuf).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { ArtifactStore, JobRunner, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parsePartnerConfig } from "../src/partner/adapters/partner-config.js";
import { sha256Hex } from "../src/partner/domain/tokens.js";
import { type StartedServer, startServer } from "../src/server.js";
import { FakeSampler } from "./partner-fixtures.js";

const KIT = resolve(import.meta.dirname, "../../../partner-kit/python");

/** A python3 that imports grpc and google.protobuf: Debian's /usr/bin/python3 first (python3-grpcio). */
function findPython(): string | undefined {
  for (const py of ["/usr/bin/python3", "python3"]) {
    const r = spawnSync(py, ["-c", "import grpc, google.protobuf"], { stdio: "ignore" });
    if (r.status === 0) return py;
  }
  return undefined;
}
const PYTHON = findPython();
if (!PYTHON)
  console.warn(
    "partner-python.test: skipped, no python3 with grpc and protobuf (apt-get install python3-grpcio python3-protobuf)",
  );

/** The embedded store's address under the name "localhost" (the services use 127.0.0.1). */
function publicEndpoint(endpoint: string): string {
  const u = new URL(endpoint);
  return `${u.protocol}//localhost:${u.port}`;
}

/** Runs the client asynchronously: the server answers from this process's event loop, which spawnSync would block. */
function py(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const child = spawn(PYTHON as string, ["-m", "synthmri_partner", ...args], {
      env: { ...process.env, PYTHONPATH: KIT, ...env },
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("close", (code) => done({ code, out, err }));
  });
}

describe.skipIf(!PYTHON)("partner kit: Python client", () => {
  let dir: string;
  let s3: Awaited<ReturnType<typeof startEmbeddedS3>>;
  let server: StartedServer;
  let addr: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "partner-python-"));
    s3 = await startEmbeddedS3({ dataDir: dir });
    const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
    await store.ensureBucket();
    const artifacts = new ArtifactStore({ store });
    const jobs = new JobRunner({ store, service: "generator", persistIntervalMs: 50, concurrency: 2 });
    const file = join(dir, "partners.json");
    const text = JSON.stringify({
      partners: [
        {
          name: "acme",
          tokenSha256: sha256Hex("tok-acme"),
          scopes: ["datasets:request", "datasets:read"],
          imagesPerDay: 100,
        },
      ],
      defaultEnsembleId: "ens-test",
    });
    await writeFile(file, text);
    server = await startServer(
      { artifacts, store, jobs },
      {
        partner: {
          config: await parsePartnerConfig(text, file),
          sampler: () => new FakeSampler(),
          // Partners reach the store under another name than the services do (PARTNER_PUBLIC_S3_ENDPOINT).
          presignStore: new MinioObjectStore({ ...s3, endpoint: publicEndpoint(s3.endpoint), bucket: "synthmri" }),
        },
      },
    );
    if (!server.partner) throw new Error("no partner listener");
    addr = server.partner.address;
  });

  afterAll(async () => {
    await server?.close(1000);
    await s3?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("generators: lists the generators the partner may request, each with its card", async () => {
    const r = await py(["--addr", addr, "--token", "tok-acme", "generators"]);
    expect(r.err).not.toMatch(/Traceback/);
    expect(r.code).toBe(0);
    const cards = JSON.parse(r.out) as Record<string, unknown>[];
    expect(cards).toHaveLength(1);
    expect(cards[0]).toMatchObject({
      ensembleId: "ens-test",
      family: "progan",
      resolution: 32,
      members: 2,
      isDefault: true,
      trainingData: { subjects: 8, slices: 40 },
      utility: { status: "not certified" },
      memorization: { status: "not measured" },
    });
  }, 60_000);

  it("request: follows the job, downloads and verifies the bundle", async () => {
    const out = join(dir, "dataset");
    const r = await py(["--addr", addr, "request", "--size", "3", "--out", out], {
      SYNTHMRI_PARTNER_TOKEN: "tok-acme",
    });
    expect(r.err).not.toMatch(/Traceback/);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.out.trim().split("\n").at(-1) as string) as {
      bundleId: string;
      files: number;
      images: number;
    };
    expect(summary.images).toBe(3);
    expect(summary.files).toBeGreaterThan(0);
    expect(readdirSync(out, { recursive: true }).length).toBeGreaterThanOrEqual(summary.files);

    // The presigned URL names the public address; the archive over HTTP: cut it short, run again, it resumes with a Range request and checks the sha256.
    const tar = join(dir, "bundle.tar");
    const fetchBundle = () =>
      py(["--addr", addr, "--token", "tok-acme", "fetch", "--bundle", summary.bundleId, "--out", tar]);
    const first = await fetchBundle();
    expect(first.code).toBe(0);
    const full = readFileSync(tar);
    const half = Math.floor(full.length / 2);
    writeFileSync(`${tar}.part`, full.subarray(0, half));
    const resumed = await fetchBundle();
    expect(resumed.code).toBe(0);
    expect(resumed.err).toContain(`resuming at ${half} bytes`);
    expect(resumed.err).toContain(`fetched ${full.length - half} bytes`);
    expect(createHash("sha256").update(readFileSync(tar)).digest("hex")).toBe(
      createHash("sha256").update(full).digest("hex"),
    );
    expect(existsSync(`${tar}.part`)).toBe(false);

    // A corrupt partial file is caught by the checksum and removed.
    writeFileSync(`${tar}.part`, Buffer.alloc(half, 7));
    const corrupt = await fetchBundle();
    expect(corrupt.code).toBe(1);
    expect(corrupt.err).toContain("archive checksum mismatch");
    expect(existsSync(`${tar}.part`)).toBe(false);
    expect(statSync(tar).size).toBe(full.length);
    truncateSync(tar, full.length);
  }, 180_000);

  it("GetDownloadUrl signs for the public store address (PARTNER_PUBLIC_S3_ENDPOINT)", async () => {
    const out = join(dir, "dataset2");
    const r = await py(["--addr", addr, "--token", "tok-acme", "--quiet", "request", "--size", "1", "--out", out]);
    expect(r.code).toBe(0);
    const { bundleId } = JSON.parse(r.out.trim()) as { bundleId: string };
    const code = [
      "import sys; from synthmri_partner import PartnerClient",
      `c = PartnerClient("${addr}", "tok-acme")`,
      `print(c.download_url("${bundleId}")[0])`,
    ].join("\n");
    const url = await new Promise<string>((done) => {
      const child = spawn(PYTHON as string, ["-c", code], { env: { ...process.env, PYTHONPATH: KIT } });
      let text = "";
      child.stdout.on("data", (d) => (text += d));
      child.on("close", () => done(text.trim()));
    });
    expect(new URL(url).origin).toBe(publicEndpoint(s3.endpoint));
  }, 120_000);

  it("a wrong token and a closed port give one clear line, no traceback", async () => {
    const denied = await py(["--addr", addr, "--token", "nope", "request", "--size", "1", "--out", join(dir, "x")]);
    expect(denied.code).toBe(1);
    expect(denied.err).toMatch(/UNAUTHENTICATED/);
    expect(denied.err).not.toMatch(/Traceback/);
    const closed = await py(["--addr", "127.0.0.1:1", "--token", "t", "bundle", "--bundle", "b"]);
    expect(closed.code).toBe(1);
    expect(closed.err).toContain("cannot reach the partner service at 127.0.0.1:1");
  });
});
