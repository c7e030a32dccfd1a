// Server-side AWS Signature V4 verification for the embedded object store, with MinIO's rules: the
// Authorization header (payload hash from x-amz-content-sha256: hex, UNSIGNED-PAYLOAD or
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and presigned query signatures (X-Amz-Date + X-Amz-Expires). The
// canonical request and the signature are computed by @smithy/signature-v4 (the AWS SDK's signer): we
// rebuild the request as the client saw it (only the headers it signed, S3's once-encoded path) and let the
// signer sign it again with our secret, then compare.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { SignatureV4 } from "@smithy/signature-v4";

export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";
export const STREAMING_PAYLOAD = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
export const EMPTY_SHA256 = createHash("sha256").update("").digest("hex");
const ALGORITHM = "AWS4-HMAC-SHA256";
/** MinIO's and S3's allowed clock skew between client and server. */
export const MAX_SKEW_MS = 15 * 60 * 1000;
/** S3's longest presigned URL lifetime (7 days). */
export const MAX_PRESIGNED_EXPIRY_S = 7 * 24 * 3600;

export interface SigV4Credentials {
  accessKey: string;
  secretKey: string;
  region: string;
}

/** What a verified request says about its body. */
export type VerifiedPayload =
  | { kind: "unsigned" }
  | { kind: "sha256"; sha256: string }
  /** aws-chunked body: every chunk carries a signature chained from the seed (the request signature). */
  | { kind: "streaming"; seedSignature: string; signingDate: Date; decodedLength: number | undefined };

export type VerifyResult =
  | { ok: true; payload: VerifiedPayload; via: "header" | "query" }
  | { ok: false; status: number; code: string; message: string };

export interface RequestToVerify {
  method: string;
  /** The raw request target: path and query as sent. */
  url: string;
  /** Node's lower-cased headers. */
  headers: Record<string, string | string[] | undefined>;
}

const deny = (code: string, message: string, status = 403): VerifyResult => ({ ok: false, status, code, message });

/** The query parameters that carry a presigned signature (removed before the request reaches s3rver). */
export const PRESIGN_QUERY_PARAMS = [
  "X-Amz-Algorithm",
  "X-Amz-Credential",
  "X-Amz-Date",
  "X-Amz-Expires",
  "X-Amz-SignedHeaders",
  "X-Amz-Signature",
  "X-Amz-Security-Token",
  "X-Amz-Content-Sha256",
];

export async function verifySigV4(
  request: RequestToVerify,
  credentials: SigV4Credentials,
  now: Date = new Date(),
): Promise<VerifyResult> {
  const target = parseTarget(request.url);
  if (!target) return deny("InvalidURI", "Couldn't parse the specified URI.", 400);
  const authorization = headerValue(request.headers, "authorization");
  const presigned = target.query.has("X-Amz-Algorithm") || target.query.has("X-Amz-Signature");
  if (authorization !== undefined && presigned) {
    return deny("InvalidArgument", "Only one auth mechanism allowed", 400);
  }
  if (authorization !== undefined) return verifyHeader(request, target, authorization, credentials, now);
  if (presigned) return verifyQuery(request, target, credentials, now);
  return deny("AccessDenied", "Access Denied: the embedded object store requires AWS Signature V4 requests");
}

interface Target {
  canonicalPath: string;
  query: URLSearchParams;
}

function parseTarget(url: string): Target | undefined {
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  if (!rawPath.startsWith("/")) return undefined;
  try {
    // S3 signs the path URI-encoded once per segment (no normalisation, no double encoding); MinIO
    // decodes what arrived and encodes it again the same way, so equivalent encodings verify alike.
    const canonicalPath = rawPath
      .split("/")
      .map((segment) => escapeUri(decodeURIComponent(segment)))
      .join("/");
    return { canonicalPath, query: new URLSearchParams(q < 0 ? "" : url.slice(q + 1)) };
  } catch {
    return undefined;
  }
}

/** RFC 3986 unreserved characters stay, everything else is %XX (as the AWS signers and MinIO encode). */
function escapeUri(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function headerValue(headers: RequestToVerify["headers"], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(",") : v;
}

interface ParsedCredential {
  accessKey: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
}

function parseCredential(value: string): ParsedCredential | undefined {
  const parts = value.split("/");
  if (parts.length !== 5) return undefined;
  const [accessKey, date, region, service, terminator] = parts as [string, string, string, string, string];
  return { accessKey, date, region, service, terminator };
}

function checkCredential(c: ParsedCredential | undefined, credentials: SigV4Credentials): VerifyResult | undefined {
  if (!c)
    return deny(
      "AuthorizationHeaderMalformed",
      "The credential is malformed; expecting AK/DATE/REGION/s3/aws4_request",
      400,
    );
  if (!safeEqual(c.accessKey, credentials.accessKey)) {
    return deny("InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.");
  }
  if (c.region !== credentials.region) {
    return deny(
      "AuthorizationHeaderMalformed",
      `the region in the credential is wrong; expecting '${credentials.region}'`,
      400,
    );
  }
  if (c.service !== "s3" || c.terminator !== "aws4_request" || !/^\d{8}$/.test(c.date)) {
    return deny(
      "AuthorizationHeaderMalformed",
      "The credential scope is malformed; expecting DATE/REGION/s3/aws4_request",
      400,
    );
  }
  return undefined;
}

/** yyyyMMdd'T'HHmmss'Z' (x-amz-date) -> Date. */
function parseAmzDate(value: string | undefined): Date | undefined {
  const m = value ? /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value) : null;
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const date = new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function signerFor(credentials: SigV4Credentials): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: credentials.accessKey, secretAccessKey: credentials.secretKey },
    region: credentials.region,
    service: "s3",
    sha256: NodeSha256,
    uriEscapePath: false, // we pass S3's canonical (once-encoded) path ourselves
    applyChecksum: false,
  });
}

function queryRecord(query: URLSearchParams, without: string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of query) {
    if (without.includes(k)) continue;
    const prior = out[k];
    out[k] = prior === undefined ? v : Array.isArray(prior) ? [...prior, v] : [prior, v];
  }
  return out;
}

function signedHeaderSubset(
  headers: RequestToVerify["headers"],
  names: string[],
): { headers: Record<string, string> } | { missing: string } {
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = headerValue(headers, name);
    if (v === undefined) return { missing: name };
    out[name] = v;
  }
  return { headers: out };
}

function parseSignedHeaders(value: string | undefined): string[] | undefined {
  if (!value) return undefined;
  const names = value.split(";");
  // Must be lower-case, sorted and unique as the signer lists them.
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    if (!/^[a-z0-9-]+$/.test(n) || (i > 0 && names[i - 1]! >= n)) return undefined;
  }
  return names.includes("host") ? names : undefined;
}

async function verifyHeader(
  request: RequestToVerify,
  target: Target,
  authorization: string,
  credentials: SigV4Credentials,
  now: Date,
): Promise<VerifyResult> {
  const m = /^AWS4-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
    authorization.trim(),
  );
  if (!m) {
    return deny(
      "AuthorizationHeaderMalformed",
      "The authorization header is malformed (AWS4-HMAC-SHA256 expected)",
      400,
    );
  }
  const [, credentialText, signedHeadersText, signature] = m as unknown as [string, string, string, string];
  const credential = parseCredential(credentialText);
  const bad = checkCredential(credential, credentials);
  if (bad) return bad;
  const signedHeaders = parseSignedHeaders(signedHeadersText);
  if (!signedHeaders?.includes("x-amz-date")) {
    return deny("AccessDenied", "SignedHeaders must be sorted lower-case names and include host and x-amz-date");
  }
  const amzDate = headerValue(request.headers, "x-amz-date");
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate) return deny("AccessDenied", "AWS authentication requires a valid x-amz-date header");
  if (amzDate!.slice(0, 8) !== credential!.date) {
    return deny("SignatureDoesNotMatch", "the credential date does not match x-amz-date");
  }
  if (Math.abs(now.getTime() - signingDate.getTime()) > MAX_SKEW_MS) {
    return deny("RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.");
  }
  const contentSha256 = headerValue(request.headers, "x-amz-content-sha256");
  if (contentSha256 === undefined) {
    return deny("InvalidRequest", "Missing required header for this request: x-amz-content-sha256", 400);
  }
  if (
    contentSha256 !== UNSIGNED_PAYLOAD &&
    contentSha256 !== STREAMING_PAYLOAD &&
    !/^[0-9a-f]{64}$/.test(contentSha256)
  ) {
    return deny(
      "InvalidArgument",
      "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD or a hex SHA-256",
      400,
    );
  }
  const subset = signedHeaderSubset(request.headers, signedHeaders);
  if ("missing" in subset) return deny("AccessDenied", `signed header ${subset.missing} is missing from the request`);
  const signed = await signerFor(credentials).sign(
    {
      method: request.method.toUpperCase(),
      protocol: "http:",
      hostname: "",
      path: target.canonicalPath,
      query: queryRecord(target.query, []),
      headers: subset.headers,
    },
    { signingDate, signableHeaders: new Set(signedHeaders) },
  );
  const expected = /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization))?.[1] ?? "";
  if (!safeEqual(expected, signature)) {
    return deny(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    );
  }
  const payload: VerifiedPayload =
    contentSha256 === UNSIGNED_PAYLOAD
      ? { kind: "unsigned" }
      : contentSha256 === STREAMING_PAYLOAD
        ? {
            kind: "streaming",
            seedSignature: signature,
            signingDate,
            decodedLength: optionalInt(headerValue(request.headers, "x-amz-decoded-content-length")),
          }
        : { kind: "sha256", sha256: contentSha256 };
  return { ok: true, payload, via: "header" };
}

async function verifyQuery(
  request: RequestToVerify,
  target: Target,
  credentials: SigV4Credentials,
  now: Date,
): Promise<VerifyResult> {
  const q = target.query;
  if (q.get("X-Amz-Algorithm") !== ALGORITHM) {
    return deny("AuthorizationQueryParametersError", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"', 400);
  }
  for (const name of ["X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"]) {
    if (q.getAll(name).length !== 1) {
      return deny("AuthorizationQueryParametersError", `Query-string authentication requires exactly one ${name}`, 400);
    }
  }
  const credential = parseCredential(q.get("X-Amz-Credential")!);
  const bad = checkCredential(credential, credentials);
  if (bad) return bad;
  const amzDate = q.get("X-Amz-Date")!;
  const signingDate = parseAmzDate(amzDate);
  if (!signingDate)
    return deny(
      "AuthorizationQueryParametersError",
      "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
      400,
    );
  if (amzDate.slice(0, 8) !== credential!.date) {
    return deny("SignatureDoesNotMatch", "the credential date does not match X-Amz-Date");
  }
  const expiresText = q.get("X-Amz-Expires")!;
  const expires = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : Number.NaN;
  if (!(expires >= 1 && expires <= MAX_PRESIGNED_EXPIRY_S)) {
    return deny("AuthorizationQueryParametersError", "X-Amz-Expires must be between 1 and 604800 seconds", 400);
  }
  if (signingDate.getTime() - now.getTime() > MAX_SKEW_MS) {
    return deny("AccessDenied", "Request is not valid yet");
  }
  if (now.getTime() > signingDate.getTime() + expires * 1000) {
    return deny("AccessDenied", "Request has expired");
  }
  const signedHeaders = parseSignedHeaders(q.get("X-Amz-SignedHeaders") ?? undefined);
  if (!signedHeaders)
    return deny("AccessDenied", "X-Amz-SignedHeaders must be sorted lower-case names and include host");
  const subset = signedHeaderSubset(request.headers, signedHeaders);
  if ("missing" in subset) return deny("AccessDenied", `signed header ${subset.missing} is missing from the request`);
  // Presigned URLs sign UNSIGNED-PAYLOAD unless the URL itself names a payload hash.
  const payloadHash = q.get("X-Amz-Content-Sha256") ?? UNSIGNED_PAYLOAD;
  const presigned = await signerFor(credentials).presign(
    {
      method: request.method.toUpperCase(),
      protocol: "http:",
      hostname: "",
      path: target.canonicalPath,
      // The signer sets Algorithm/Credential/Date/Expires/SignedHeaders itself from what we verified above.
      query: queryRecord(q, ["X-Amz-Signature"]),
      headers: { ...subset.headers, "x-amz-content-sha256": payloadHash },
    },
    {
      signingDate,
      expiresIn: expires,
      signableHeaders: new Set(signedHeaders),
      unsignableHeaders: new Set(["x-amz-content-sha256"]),
      unhoistableHeaders: new Set(["x-amz-content-sha256"]),
    },
  );
  const signedQuery = presigned.query ?? {};
  if (signedQuery["X-Amz-SignedHeaders"] !== signedHeaders.join(";")) {
    return deny("SignatureDoesNotMatch", "X-Amz-SignedHeaders does not match the signed request");
  }
  const expected = String(signedQuery["X-Amz-Signature"] ?? "");
  if (!safeEqual(expected, q.get("X-Amz-Signature")!)) {
    return deny(
      "SignatureDoesNotMatch",
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    );
  }
  const payload: VerifiedPayload =
    payloadHash === UNSIGNED_PAYLOAD ? { kind: "unsigned" } : { kind: "sha256", sha256: payloadHash };
  return { ok: true, payload, via: "query" };
}

function optionalInt(v: string | undefined): number | undefined {
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Decodes an aws-chunked body (STREAMING-AWS4-HMAC-SHA256-PAYLOAD) and checks every chunk's signature,
 * each chained from the previous one, starting at the request's seed signature. Returns the payload, or an
 * error message when the framing or a signature is wrong.
 */
export async function decodeSignedChunks(
  body: Buffer,
  payload: Extract<VerifiedPayload, { kind: "streaming" }>,
  credentials: SigV4Credentials,
): Promise<{ data: Buffer } | { error: string }> {
  const signer = signerFor(credentials);
  const parts: Buffer[] = [];
  let previous = payload.seedSignature;
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", offset);
    if (lineEnd < 0 || lineEnd - offset > 200) return { error: "malformed chunk header" };
    const header = /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/.exec(
      body.toString("latin1", offset, lineEnd),
    );
    if (!header) return { error: "malformed chunk header" };
    const size = Number.parseInt(header[1]!, 16);
    const start = lineEnd + 2;
    const end = start + size;
    if (end + 2 > body.length || body[end] !== 0x0d || body[end + 1] !== 0x0a) return { error: "truncated chunk" };
    const chunk = body.subarray(start, end);
    const expected = await signer.sign(
      { headers: new Uint8Array(0), payload: chunk },
      { signingDate: payload.signingDate, priorSignature: previous },
    );
    if (!safeEqual(expected, header[2]!)) return { error: "chunk signature does not match" };
    previous = expected;
    offset = end + 2;
    if (size === 0) break;
    parts.push(chunk);
  }
  if (offset !== body.length) return { error: "data after the final chunk" };
  const data = Buffer.concat(parts);
  if (payload.decodedLength !== undefined && data.length !== payload.decodedLength) {
    return { error: "x-amz-decoded-content-length does not match the decoded body" };
  }
  return { data };
}

/** The hash constructor the smithy signer needs (SHA-256, or HMAC-SHA-256 when given a key), on node:crypto. */
class NodeSha256 {
  private readonly hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash("sha256") : createHmac("sha256", toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error("not supported");
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
