// The operator's commands against an ingest service that requires mTLS (as compose and Helm deploy it): ingest
// with --addr and the TLS flags, then datasets/jobs management with the TLS_* environment; plaintext and a missing
// client certificate fail with a message. Issue 19.2.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startServer } from "@synthmri/ingest";
import { type EmbeddedS3, MinioObjectStore, startEmbeddedS3 } from "@synthmri/platform";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { HAS_OPENSSL, makePki, type Pki } from "../../test/ops/helpers.js";
import { run as datasets } from "../src/commands/datasets.js";
import { run as ingest } from "../src/commands/ingest.js";
import { run as jobs } from "../src/commands/jobs.js";
import { run as phantom } from "../src/commands/phantom.js";
import type { CommandIo } from "../src/connect/command-kit.js";

if (!HAS_OPENSSL) console.warn("manage-tls.test: skipped, openssl is not installed (needed to make test certificates)");

function io(env: NodeJS.ProcessEnv, confirm?: CommandIo["confirm"]) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (l: string) => void out.push(l), err: (l: string) => void err.push(l), env, confirm } as CommandIo,
    out: () => out.join("\n"),
    err: () => err.join("\n"),
  };
}

describe.skipIf(!HAS_OPENSSL)("operator commands over mTLS", () => {
  let dir: string;
  let s3: EmbeddedS3;
  let pki: Pki;
  let server: Awaited<ReturnType<typeof startServer>>;
  let tlsEnv: NodeJS.ProcessEnv;
  let datasetId = "";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "synthmri-manage-tls-"));
    pki = makePki(dir);
    s3 = await startEmbeddedS3({ dataDir: join(dir, "s3") });
    const store = new MinioObjectStore({ ...s3, bucket: "synthmri" });
    await store.ensureBucket();
    server = await startServer(
      { store, salt: "test-salt-0123456789abcdef", gzipLevel: 1 },
      { tls: { certPath: pki.cert, keyPath: pki.key, caPath: pki.ca, requireClientCert: true } },
    );
    tlsEnv = { TLS_CA: pki.ca, TLS_CERT: pki.cert, TLS_KEY: pki.key, INGEST_ADDR: server.address };
    vi.spyOn(console, "log").mockImplementation(() => {});
    expect(await phantom(["--subjects", "3", "--out", join(dir, "cohort"), "--size", "24x24x12", "--seed", "3"])).toBe(0);
    vi.restoreAllMocks();
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("ingest --addr with --tls-ca/--tls-cert/--tls-key imports the cohort", async () => {
    const logs: string[] = [];
    vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void logs.push(a.join(" ")));
    vi.spyOn(console, "error").mockImplementation(() => {});
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const code = await ingest([
        join(dir, "cohort"),
        "--addr",
        server.address,
        "--tls-ca",
        pki.ca,
        "--tls-cert",
        pki.cert,
        "--tls-key",
        pki.key,
        "--test-count",
        "1",
        "--json",
      ]);
      expect(code).toBe(0);
    } finally {
      vi.restoreAllMocks();
    }
    const report = JSON.parse(logs.join("\n")) as { datasetId: string; subjectsImported: number };
    expect(report.subjectsImported).toBe(3);
    datasetId = report.datasetId;
  }, 60_000);

  it("datasets list reaches the server with the TLS_* environment", async () => {
    const c = io(tlsEnv);
    expect(await datasets(["list", "--json"], c.io)).toBe(0);
    const list = JSON.parse(c.out()) as { id: string; origin: string }[];
    expect(list.map((d) => d.id)).toContain(datasetId);
    expect(list.find((d) => d.id === datasetId)?.origin).toBe("real");
  });

  it("without a client certificate, or in plaintext, the call fails with a message", async () => {
    const noCert = io({ TLS_CA: pki.ca, INGEST_ADDR: server.address });
    expect(await datasets(["list"], noCert.io)).toBe(1);
    expect(noCert.err()).toMatch(/synthmri datasets: /);
    const plain = io({ ...tlsEnv });
    expect(await datasets(["list", "--plaintext"], plain.io)).toBe(1);
    expect(plain.err()).toContain(`ingest service at ${server.address}`);
  });

  it("--tls-cert without --tls-key is a usage error", async () => {
    const c = io({ INGEST_ADDR: server.address });
    expect(await datasets(["list", "--tls-ca", pki.ca, "--tls-cert", pki.cert], c.io)).toBe(2);
    expect(c.err()).toContain("--tls-key");
  });

  it("jobs list, watch and cancel find the import job", async () => {
    const list = io(tlsEnv);
    expect(await jobs(["list", "--service", "ingest", "--json"], list.io)).toBe(0);
    const all = JSON.parse(list.out()) as { id: string; kind: string; state: string; service: string }[];
    const job = all.find((j) => j.kind === "import");
    expect(job?.state).toBe("succeeded");
    const watch = io(tlsEnv);
    expect(await jobs(["watch", String(job?.id), "--service", "ingest"], watch.io)).toBe(0);
    const cancel = io(tlsEnv);
    expect(await jobs(["cancel", String(job?.id), "--service", "ingest"], cancel.io)).toBe(0);
    expect(cancel.out()).toContain("succeeded");
    const unknown = io(tlsEnv);
    expect(await jobs(["watch", "no-such-job", "--service", "ingest"], unknown.io)).toBe(1);
    expect(unknown.err()).toMatch(/NotFound|NOT_FOUND/);
  });

  it("datasets delete asks first, refuses without a terminal, deletes with --yes", async () => {
    const noTty = io(tlsEnv);
    expect(await datasets(["delete", datasetId], noTty.io)).toBe(2);
    expect(noTty.err()).toContain("without --yes");
    const declined = io(tlsEnv, async () => false);
    expect(await datasets(["delete", datasetId], declined.io)).toBe(1);
    const mistyped = io(tlsEnv, async () => true);
    expect(await datasets(["delete", "no-such-dataset"], mistyped.io)).toBe(1);
    const yes = io(tlsEnv);
    expect(await datasets(["delete", datasetId, "--yes"], yes.io)).toBe(0);
    expect(yes.out()).toContain(`deleted dataset ${datasetId}`);
    const after = io(tlsEnv);
    expect(await datasets(["list", "--json"], after.io)).toBe(0);
    expect((JSON.parse(after.out()) as { id: string }[]).map((d) => d.id)).not.toContain(datasetId);
  });
});
