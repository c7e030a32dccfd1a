// The web console in a real browser (Debian's chromium driven by puppeteer-core, which downloads none):
// the four services under the supervisor, a tiny phantom experiment run through them, then every page
// loaded, a job followed to completion through WatchJob, and a scan segmented through the page, the
// returned NIfTI checked against the input's grid; a partner request on the generator's partner listener so
// that the partner page lists its bundle and audit events; the GAN members' training curves; each service's
// backend on the health page. Screenshots go to $CONSOLE_SCREENSHOTS or a tmp dir.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Code, ConnectError, createClient as createConnectClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import {
  BundleFormat,
  GeneratorService,
  IngestService,
  JobService,
  JobState,
  PartnerService,
} from "@synthmri/contracts";
import { MinioObjectStore } from "@synthmri/platform";
import { createClient } from "@synthmri/rpc";
import { generatePhantomSubject, phantomSubjectFiles, readNifti } from "@synthmri/volume";
import puppeteer, { type Browser, type Page } from "puppeteer-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSession } from "../../cli/src/experiment/session.js";
import { validateSpec } from "../../cli/src/experiment/spec.js";
import { type Supervisor, startSupervisor } from "../../cli/src/supervisor/supervisor.js";
import { type RunningConsole, startConsole } from "../../services/console/src/index.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  if (process.env.CI === "true") throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
  console.warn(`console browser test skipped: no ${CHROMIUM} (apt-get install -y chromium)`);
}

const spec = validateSpec({
  name: "console",
  seed: 3,
  data: { source: "phantom", phantomSubjects: 4, phantomSize: [32, 32, 16], testSubjects: 2, sliceSize: 16 },
  gan: {
    family: "pgan",
    members: 2,
    concurrency: 2,
    resolution: 16,
    latentDim: 16,
    kimgPerPhase: 0.02,
    totalKimg: 0.04,
    batchSize: 8,
    fmapMax: 8,
    fmapMin: 8,
  },
  synthetic: { images: 16, ensembleSizes: [2], mixWithReal: [] },
  segmenter: {
    runs: 2,
    epochs: 1,
    iterationsPerEpoch: 4,
    batchSize: 8,
    depth: 2,
    baseFilters: 4,
    maxFilters: 8,
    deepSupervision: 0,
  },
});

/** A port free now, for a listener the supervisor's services open (PARTNER_PORT has no "0 = pick one" there). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const PARTNER_TOKEN = "console-test-partner-token";

describe.skipIf(!haveChromium)("web console in a browser", () => {
  const root = mkdtempSync(join(tmpdir(), "synthmri-console-"));
  const shots = resolve(process.env.CONSOLE_SCREENSHOTS ?? join(root, "screenshots"));
  let sup: Supervisor;
  let web: RunningConsole;
  let browser: Browser;
  let page: Page;
  let ensembleId = "";
  let datasetId = "";
  let partnerAddr = "";

  beforeAll(async () => {
    mkdirSync(shots, { recursive: true });
    // One partner on the generator's partner listener, so the partner page has a real request to show.
    const tokens = join(root, "partners.json");
    writeFileSync(
      tokens,
      JSON.stringify({
        partners: [
          {
            name: "uni-lab",
            tokenSha256: createHash("sha256").update(PARTNER_TOKEN).digest("hex"),
            scopes: ["datasets:request", "datasets:read"],
            imagesPerDay: 100,
          },
        ],
        licence: "Research use only.",
        maxDrawFactor: 50,
      }),
    );
    const partnerPort = await freePort();
    partnerAddr = `127.0.0.1:${partnerPort}`;
    sup = await startSupervisor({
      rootDir: resolve("."),
      dataDir: join(root, "data"),
      env: { LOG_LEVEL: "warn", PARTNER_TOKENS_FILE: tokens, PARTNER_PORT: String(partnerPort) },
    });
    const sink = { write: () => true };
    const run = await runSession({
      spec,
      outRoot: join(root, "out"),
      dataDir: join(root, "data"),
      connect: sup.addresses,
      s3: sup.s3,
      out: sink,
    });
    ensembleId = run.result.ensembleId;
    datasetId = run.result.datasetId;
    web = await startConsole({ addresses: sup.addresses, store: new MinioObjectStore({ ...sup.s3 }) });
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--window-size=1280,1000"],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 1000 });
    console.log(`console screenshots: ${shots}`);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await web?.close();
    await sup?.stop();
  });

  async function open(hash: string, shot: string): Promise<void> {
    await page.goto(`${web.url}#${hash}`);
    await page.waitForSelector("#page[data-ready=true]", { timeout: 60_000 });
    const errors = await page.$$eval(".error", (els) => els.map((e) => e.textContent));
    expect(errors, `errors on #${hash}`).toEqual([]);
    await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
  }

  it("refuses requests without the token and trades the URL token for a cookie", async () => {
    expect((await fetch(web.url)).status).toBe(401);
    expect((await fetch(`${web.url}?token=wrong`)).status).toBe(401);
    await page.goto(web.openUrl);
    expect(page.url()).not.toContain("token=");
    await page.waitForSelector("#page[data-ready=true]");
  });

  it("forwards the services' gRPC status codes over Connect", async () => {
    const transport = createConnectTransport({
      baseUrl: `${web.url}rpc/ingest`,
      httpVersion: "1.1",
      useBinaryFormat: true,
      interceptors: [
        (next) => (req) => {
          req.header.set("authorization", `Bearer ${web.token}`);
          return next(req);
        },
      ],
    });
    const ingest = createConnectClient(IngestService, transport);
    const err = await ingest.getDataset({ datasetId: "no-such-dataset" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.NotFound);
    expect((await ingest.getDataset({ datasetId })).dataset?.id).toBe(datasetId);
  });

  it("shows every page with live data", async () => {
    await open("health", "health");
    expect(await page.$eval("[data-testid=health-ingest]", (e) => e.textContent)).toBe("SERVING");
    // Each process reports its own backend (GetServiceInfo): the GAN and U-Net services started one.
    for (const s of ["generator", "segmenter", "evaluator"]) {
      const backend = await page.$eval(`[data-testid=backend-${s}]`, (e) => e.textContent ?? "");
      expect(backend, s).toMatch(/^(cpu|wasm|tensorflow|webgpu) \(/);
    }
    expect(await page.$eval("[data-testid=gpu-generator]", (e) => e.textContent)).toBeTruthy();

    await open("datasets", "datasets");
    expect(await page.$$eval("#page a[href^='#datasets?id=']", (a) => a.length)).toBeGreaterThan(1);
    await open(`datasets?id=${datasetId}`, "dataset");
    const subjectLink = await page.$eval("#page a[href*='subject=']", (a) => a.getAttribute("href"));
    await page.goto(`${web.url}${subjectLink}`);
    await page.waitForSelector("canvas[data-loaded='2']", { timeout: 60_000 });
    await page.screenshot({ path: join(shots, "subject-viewer.png"), fullPage: true });

    await open(`ensembles?id=${ensembleId}`, "ensemble");
    await page.waitForFunction('document.querySelectorAll("[data-testid^=samples-] canvas").length >= 2', {
      timeout: 60_000,
    });
    await page.screenshot({ path: join(shots, "ensemble.png"), fullPage: true });
    // Training curves of both members from their checkpoints' history (losses and SWD, SVG).
    for (const m of [0, 1]) {
      const lines = await page.$$eval(`[data-testid=curves-${m}] svg polyline`, (els) =>
        els.map((e) => (e.getAttribute("points") ?? "").split(" ").length),
      );
      expect(lines.length, `member ${m} curves`).toBeGreaterThanOrEqual(2);
      expect(Math.max(...lines)).toBeGreaterThan(2);
    }
    const curves = await page.$("[data-testid=curves-0]");
    await curves!.screenshot({ path: join(shots, "gan-curves.png") });

    await open("models", "models");
    expect(await page.$$eval("#page tbody tr", (r) => r.length)).toBeGreaterThan(0);
    await open("jobs", "jobs");
    await open("experiments", "experiments");
    const markdown = await page.$eval("[data-testid=report-markdown]", (e) => e.textContent ?? "");
    expect(markdown).toMatch(/p/i);
  }, 120_000);

  it("follows a job to completion through WatchJob", async () => {
    const generator = createClient(GeneratorService, sup.addresses.generator);
    const { jobId } = await generator.createSyntheticDataset({
      source: { ensembleId },
      count: 16,
      seed: 9,
      name: "console-watch",
    });
    generator.close();
    await page.goto(`${web.url}#jobs?service=generator&id=${jobId}`);
    await page.waitForSelector("[data-testid=job-watch][data-final=true]", { timeout: 90_000 });
    expect(await page.$eval("[data-testid=job-state]", (e) => e.textContent)).toBe("succeeded");
    await page.screenshot({ path: join(shots, "job.png"), fullPage: true });
  }, 120_000);

  it("segments a scan uploaded through the page; the label NIfTI keeps the input's grid", async () => {
    const subject = generatePhantomSubject(0, { size: [32, 32, 16], seed: "console-upload" });
    const dir = join(root, "upload");
    mkdirSync(dir, { recursive: true });
    const paths: Record<string, string> = {};
    for (const [name, bytes] of Object.entries(phantomSubjectFiles(subject))) {
      const p = join(dir, name);
      writeFileSync(p, bytes);
      const role = /_(t1|t1ce|t2|flair|seg)\.nii\.gz$/.exec(name)?.[1];
      if (role) paths[role] = p;
    }
    await open("segment", "segment-form");
    for (const role of ["t1", "t1ce", "t2", "flair"]) {
      const input = await page.$(`input[name=${role}]`);
      await input!.uploadFile(paths[role]);
    }
    await page.click("form button[type=submit]");
    await page.waitForSelector("[data-testid=segment-result][data-done]", { timeout: 90_000 });
    expect(await page.$eval("[data-testid=segment-result]", (e) => e.getAttribute("data-done"))).toBe("true");
    await page.waitForSelector("[data-testid=segment-result] canvas[data-loaded='2']", { timeout: 60_000 });
    await page.screenshot({ path: join(shots, "segment-result.png"), fullPage: true });
    const b64 = await page.$eval("[data-testid=download]", async (a) => {
      const buf = new Uint8Array(await (await fetch(a.getAttribute("href") ?? "")).arrayBuffer());
      let s = "";
      for (const b of buf) s += String.fromCharCode(b);
      return btoa(s);
    });
    const label = readNifti(new Uint8Array(Buffer.from(b64, "base64")), "seg");
    const flair = readNifti(phantomSubjectFiles(subject)[`${subject.id}_flair.nii.gz`]!, "flair");
    expect(label.shape).toEqual(flair.shape);
    const rounded = (m: number[][]) => m.flat().map((v) => Number(v.toFixed(4)));
    expect(rounded(label.affine)).toEqual(rounded(flair.affine));
  }, 150_000);

  it("lists a partner's bundle and its audit events, and revokes a delivered bundle", async () => {
    const auth = { metadata: { authorization: `Bearer ${PARTNER_TOKEN}` } };
    const partner = createClient(PartnerService, partnerAddr, auth);
    const partnerJobs = createClient(JobService, partnerAddr, auth);
    const { jobId, bundleId } = await partner.requestSyntheticDataset({
      size: 2,
      ensembleId,
      format: BundleFormat.TENSOR_SHARDS,
      seed: 4,
      purpose: "console test",
    });
    let ready = false;
    for await (const r of partnerJobs.watchJob({ jobId })) ready = r.job?.state === JobState.SUCCEEDED;
    partner.close();
    partnerJobs.close();

    await open("partners", "partners");
    const status = await page.$eval(`[data-testid=bundle-status-${bundleId}]`, (e) => e.textContent);
    // A barely trained 16x16 GAN may not pass the anatomy checks within the draw budget: then the request is
    // listed as failed, which the page must show just as well.
    expect(status).toBe(ready ? "ready" : "failed");
    const types = await page.$$eval("[data-testid=audit-table] tbody tr", (rows) =>
      rows.map((r) => r.getAttribute("data-type")),
    );
    expect(types).toContain("request.accepted");
    expect(types).toContain(ready ? "export" : "request.failed");
    if (ready) {
      await page.type(`[data-testid=revoke-reason-${bundleId}]`, "test revocation");
      await page.click(`[data-testid=revoke-${bundleId}]`);
      await page.waitForFunction(
        `document.querySelector("[data-testid=bundle-status-${bundleId}]")?.textContent === "revoked"`,
        { timeout: 30_000 },
      );
    }
    await open("partners?type=request.accepted", "partners-filtered");
    const filtered = await page.$$eval("[data-testid=audit-table] tbody tr", (rows) =>
      rows.map((r) => r.getAttribute("data-type")),
    );
    expect(filtered).toEqual(["request.accepted"]);
  }, 150_000);
});
