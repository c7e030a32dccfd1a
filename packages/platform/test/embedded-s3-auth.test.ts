// The embedded object store verifies AWS Signature V4 as S3/MinIO do (issue 17.1): unsigned, tampered,
// expired and cross-key requests are refused, the minio client's own requests pass, and AWS's published
// signature examples verify.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, MinioObjectStore, startEmbeddedS3 } from "../src/index.js";
import { decodeSignedChunks, verifySigV4 } from "../src/store/sigv4-verify.js";

/** An S3 endpoint under test with the credentials that may use it. */
interface Target {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
}

let dir: string;
let s3: EmbeddedS3;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "platform-s3-auth-"));
  s3 = await startEmbeddedS3({ dataDir: dir });
});

afterAll(async () => {
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function errorCode(res: Response): Promise<string> {
  return /<Code>([^<]+)<\/Code>/.exec(await res.text())?.[1] ?? "";
}

describe("embedded object store", () => {
  it("listens on loopback, refuses other hosts, and keeps a random secret readable only by its owner", async () => {
    expect(new URL(s3.endpoint).hostname).toBe("127.0.0.1");
    expect(s3.secretKey.length).toBeGreaterThanOrEqual(32);
    expect(s3.accessKey).not.toBe("S3RVER");
    expect(statSync(join(dir, "s3-credentials.json")).mode & 0o077).toBe(0);
    await expect(startEmbeddedS3({ dataDir: dir, host: "0.0.0.0" })).rejects.toThrow(/loopback/);
  });
});

/**
 * What S3 and MinIO refuse, sent to `target()` with a fresh bucket: the embedded store must behave as they do.
 * Uses plain fetch for the hostile requests and the minio client for the signed ones.
 */
function refusesWhatS3Refuses(target: () => Target): void {
  const BUCKET = `auth-test-${process.pid}-${Date.now().toString(36)}`;
  let s3: Target;
  let store: MinioObjectStore;
  let client: Client;

  beforeAll(async () => {
    s3 = target();
    store = new MinioObjectStore({ ...s3, bucket: BUCKET });
    await store.ensureBucket();
    await store.putObject("secret/a.txt", "alpha");
    await store.putObject("secret/b.txt", "bravo");
    const url = new URL(s3.endpoint);
    client = new Client({
      endPoint: url.hostname,
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      useSSL: url.protocol === "https:",
      accessKey: s3.accessKey,
      secretKey: s3.secretKey,
      region: s3.region,
      pathStyle: true,
    });
  });

  it("refuses unsigned list, get, put and delete with 403 and changes nothing", async () => {
    const list = await fetch(`${s3.endpoint}/${BUCKET}/?prefix=secret/`);
    expect(list.status).toBe(403);
    expect(await errorCode(list)).toBe("AccessDenied");
    expect((await fetch(`${s3.endpoint}/${BUCKET}/secret/a.txt`)).status).toBe(403);
    expect((await fetch(`${s3.endpoint}/`)).status).toBe(403);
    const put = await fetch(`${s3.endpoint}/${BUCKET}/secret/a.txt`, { method: "PUT", body: "overwritten" });
    expect(put.status).toBe(403);
    const del = await fetch(`${s3.endpoint}/${BUCKET}/secret/b.txt`, { method: "DELETE" });
    expect(del.status).toBe(403);
    expect((await store.getBuffer("secret/a.txt")).toString()).toBe("alpha");
    expect((await store.getBuffer("secret/b.txt")).toString()).toBe("bravo");
  });

  it("refuses a wrong secret, an unknown access key and a forged Authorization header", async () => {
    const url = new URL(s3.endpoint);
    const base = { endPoint: url.hostname, port: Number(url.port), useSSL: false, region: s3.region, pathStyle: true };
    const wrongSecret = new Client({ ...base, accessKey: s3.accessKey, secretKey: `${s3.secretKey}x` });
    // HEAD answers carry no body, so the client only sees the 403.
    await expect(wrongSecret.statObject(BUCKET, "secret/a.txt")).rejects.toMatchObject({ code: "AccessDenied" });
    await expect(wrongSecret.getObject(BUCKET, "secret/a.txt")).rejects.toMatchObject({
      code: "SignatureDoesNotMatch",
    });
    const wrongKey = new Client({ ...base, accessKey: "S3RVER", secretKey: "S3RVER" });
    await expect(wrongKey.getObject(BUCKET, "secret/a.txt")).rejects.toMatchObject({ code: "InvalidAccessKeyId" });
    const forged = await fetch(`${s3.endpoint}/${BUCKET}/secret/a.txt`, {
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${s3.accessKey}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${"0".repeat(64)}`,
        "x-amz-date": new Date().toISOString().replace(/[-:]|\.\d{3}/g, ""),
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
      },
    });
    expect(forged.status).toBe(403);
  });

  it("refuses a signed PUT whose body differs from its signed payload hash, and stores nothing", async () => {
    const { signV4 } = await import("minio/dist/esm/signing.mjs");
    const date = new Date();
    const amzDate = date.toISOString().replace(/[-:]|\.\d{3}/g, "");
    const host = new URL(s3.endpoint).host;
    const path = `/${BUCKET}/secret/tampered.txt`;
    const headers: Record<string, string> = {
      host,
      "x-amz-date": amzDate,
      "x-amz-content-sha256": createHash("sha256").update("signed body").digest("hex"),
    };
    headers.authorization = signV4(
      { method: "PUT", path, headers, protocol: "http:" },
      s3.accessKey,
      s3.secretKey,
      s3.region,
      date,
      headers["x-amz-content-sha256"]!,
    );
    const bad = await fetch(`${s3.endpoint}${path}`, { method: "PUT", headers, body: "another body" });
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("XAmzContentSHA256Mismatch");
    expect(await store.exists("secret/tampered.txt")).toBe(false);
    const good = await fetch(`${s3.endpoint}${path}`, { method: "PUT", headers, body: "signed body" });
    expect(good.status).toBe(200);
    expect((await store.getBuffer("secret/tampered.txt")).toString()).toBe("signed body");
  });

  it("honours a presigned GET URL only as signed: not tampered, not extended, not for another key, not expired", async () => {
    const url = new URL(await store.presignedGetUrl("secret/a.txt", 60));
    expect(await (await fetch(url)).text()).toBe("alpha");

    const tampered = new URL(url);
    const sig = tampered.searchParams.get("X-Amz-Signature")!;
    tampered.searchParams.set("X-Amz-Signature", `${sig.slice(0, -1)}${sig.endsWith("0") ? "1" : "0"}`);
    const t = await fetch(tampered);
    expect(t.status).toBe(403);
    expect(await errorCode(t)).toBe("SignatureDoesNotMatch");

    const extended = new URL(url);
    extended.searchParams.set("X-Amz-Expires", "604800");
    expect((await fetch(extended)).status).toBe(403);

    const otherKey = new URL(url);
    otherKey.pathname = `/${BUCKET}/secret/b.txt`;
    expect((await fetch(otherKey)).status).toBe(403);

    const listing = new URL(url);
    listing.pathname = `/${BUCKET}/`;
    listing.searchParams.set("prefix", "secret/");
    expect((await fetch(listing)).status).toBe(403);

    const put = await fetch(url, { method: "PUT", body: "x" });
    expect(put.status).toBe(403);

    const expired = await client.presignedGetObject(BUCKET, "secret/a.txt", 60, {}, new Date(Date.now() - 3600_000));
    const e = await fetch(expired);
    expect(e.status).toBe(403);
    expect(await e.text()).toMatch(/expired/);
    expect(await (await fetch(url)).text()).toBe("alpha");
  });

  it("accepts the minio client's presigned PUT (UNSIGNED-PAYLOAD) for its key only", async () => {
    const putUrl = await client.presignedPutObject(BUCKET, "upload/p.bin", 60);
    expect((await fetch(putUrl, { method: "PUT", body: "presigned" })).status).toBe(200);
    expect((await store.getBuffer("upload/p.bin")).toString()).toBe("presigned");
    const other = new URL(putUrl);
    other.pathname = `/${BUCKET}/secret/a.txt`;
    expect((await fetch(other, { method: "PUT", body: "overwrite" })).status).toBe(403);
    expect((await store.getBuffer("secret/a.txt")).toString()).toBe("alpha");
  });
}

describe("embedded object store authentication", () => {
  refusesWhatS3Refuses(() => s3);
});

// The same requests against a real MinIO (or S3): an opt-in check against an external server, not part of the
// suite, because CI has none and no MinIO binary is reachable offline. Run it where one is:
//   SYNTHMRI_TEST_S3_ENDPOINT=http://127.0.0.1:9000 SYNTHMRI_TEST_S3_ACCESS_KEY=.. SYNTHMRI_TEST_S3_SECRET_KEY=.. \
//   npx vitest run packages/platform/test/embedded-s3-auth.test.ts
const real = process.env.SYNTHMRI_TEST_S3_ENDPOINT;
if (real)
  describe("the same requests against the S3 server at SYNTHMRI_TEST_S3_ENDPOINT", () => {
    refusesWhatS3Refuses(() => ({
      endpoint: real.replace(/\/$/, ""),
      accessKey: process.env.SYNTHMRI_TEST_S3_ACCESS_KEY ?? "minioadmin",
      secretKey: process.env.SYNTHMRI_TEST_S3_SECRET_KEY ?? "minioadmin",
      region: process.env.SYNTHMRI_TEST_S3_REGION ?? "us-east-1",
    }));
  });

// AWS's published examples (docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html,
// sigv4-query-string-auth.html, sigv4-streaming.html): an independent check of the canonical request.
describe("SigV4 verification against AWS's published examples", () => {
  const aws = {
    accessKey: "AKIAIOSFODNN7EXAMPLE",
    secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    region: "us-east-1",
  };
  const at = new Date(Date.UTC(2013, 4, 24, 0, 0, 0));

  it("GET Object with a Range header", async () => {
    const headers = {
      host: "examplebucket.s3.amazonaws.com",
      range: "bytes=0-9",
      "x-amz-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "x-amz-date": "20130524T000000Z",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    };
    expect(await verifySigV4({ method: "GET", url: "/test.txt", headers }, aws, at)).toMatchObject({ ok: true });
    const changed = await verifySigV4(
      { method: "GET", url: "/test.txt", headers: { ...headers, range: "bytes=0-99" } },
      aws,
      at,
    );
    expect(changed).toMatchObject({ ok: false, code: "SignatureDoesNotMatch" });
    const later = await verifySigV4(
      { method: "GET", url: "/test.txt", headers },
      aws,
      new Date(at.getTime() + 16 * 60_000),
    );
    expect(later).toMatchObject({ ok: false, code: "RequestTimeTooSkewed" });
  });

  it("presigned GET URL, valid for 86400 s and no longer", async () => {
    const url =
      "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    const headers = { host: "examplebucket.s3.amazonaws.com" };
    expect(await verifySigV4({ method: "GET", url, headers }, aws, at)).toMatchObject({ ok: true, via: "query" });
    const after = new Date(at.getTime() + 86401_000);
    expect(await verifySigV4({ method: "GET", url, headers }, aws, after)).toMatchObject({
      ok: false,
      message: "Request has expired",
    });
    const otherHost = { host: "otherbucket.s3.amazonaws.com" };
    expect(await verifySigV4({ method: "GET", url, headers: otherHost }, aws, at)).toMatchObject({ ok: false });
  });

  it("aws-chunked PUT: seed signature and every chunk signature", async () => {
    const headers = {
      host: "s3.amazonaws.com",
      "x-amz-date": "20130524T000000Z",
      "x-amz-storage-class": "REDUCED_REDUNDANCY",
      "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
      "content-encoding": "aws-chunked",
      "x-amz-decoded-content-length": "66560",
      "content-length": "66824",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    };
    const verdict = await verifySigV4({ method: "PUT", url: "/examplebucket/chunkObject.txt", headers }, aws, at);
    expect(verdict).toMatchObject({ ok: true, payload: { kind: "streaming" } });
    if (!verdict.ok || verdict.payload.kind !== "streaming") throw new Error("unreachable");
    const chunk = (size: number, sig: string) =>
      Buffer.concat([
        Buffer.from(`${size.toString(16)};chunk-signature=${sig}\r\n`),
        Buffer.alloc(size, "a"),
        Buffer.from("\r\n"),
      ]);
    const body = Buffer.concat([
      chunk(65536, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"),
      chunk(1024, "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"),
      chunk(0, "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"),
    ]);
    expect(body.length).toBe(66824);
    const decoded = await decodeSignedChunks(body, verdict.payload, aws);
    expect("data" in decoded && decoded.data.length).toBe(66560);
    const flipped = Buffer.from(body);
    flipped[200] = "b".charCodeAt(0);
    expect(await decodeSignedChunks(flipped, verdict.payload, aws)).toEqual({
      error: "chunk signature does not match",
    });
  });
});
