// Partner tokens: the hospital configures partners in a JSON file (PARTNER_TOKENS_FILE) holding only the SHA-256
// of each token, so a leaked config does not leak credentials. A presented token is hashed and compared with
// every configured hash in constant time (no early exit), so timing reveals neither which partner nor how many
// leading bytes matched.
import { createHash, timingSafeEqual } from "node:crypto";
import { InvalidInput, PermissionDenied, Unauthenticated } from "@synthmri/platform";

/** Scopes a partner can hold; each PartnerService RPC needs one. */
export const PARTNER_SCOPES = ["datasets:request", "datasets:read"] as const;
export type PartnerScope = (typeof PARTNER_SCOPES)[number];

/** Method name (as in the proto) -> scope it needs. */
export const METHOD_SCOPES: Record<string, PartnerScope> = {
  RequestSyntheticDataset: "datasets:request",
  GetBundle: "datasets:read",
  DownloadDataset: "datasets:read",
  GetDownloadUrl: "datasets:read",
  // What one may request is part of requesting.
  ListGenerators: "datasets:request",
};

export interface PartnerAccount {
  name: string;
  /** Lower-case hex SHA-256 of the token. */
  tokenSha256: string;
  scopes: PartnerScope[];
  /** Images a partner may request per UTC day. */
  imagesPerDay: number;
  /** Ensembles this partner may request; undefined = the hospital's offer to every partner (config `ensembles`). */
  ensembles?: string[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const ENSEMBLE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,100}$/;

/** An optional list of ensemble ids (a partner's or the whole offer); undefined when absent. */
export function parseEnsembleList(value: unknown, where: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string" || !ENSEMBLE_ID.test(v)))
    throw new InvalidInput(`${where} must be a list of ensemble ids (as 'synthmri ensembles list' prints them)`);
  return [...new Set(value as string[])];
}

export function sha256Hex(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** Parses and validates the tokens file's JSON; every problem names the partner entry and the field. */
export function parsePartnerTokens(text: string, source = "partner tokens file"): PartnerAccount[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InvalidInput(`${source} is not valid JSON: ${(e as Error).message}`);
  }
  const partners = (doc as { partners?: unknown })?.partners;
  if (!Array.isArray(partners))
    throw new InvalidInput(`${source} must be {"partners":[{"name","tokenSha256","scopes":[...],"imagesPerDay"}]}`);
  const seenNames = new Set<string>();
  const seenHashes = new Set<string>();
  return partners.map((p: Record<string, unknown>, i) => {
    const where = `${source}: partners[${i}]`;
    if (typeof p?.name !== "string" || !NAME.test(p.name))
      throw new InvalidInput(`${where}.name must be 1-64 of A-Z a-z 0-9 _ . - (got ${JSON.stringify(p?.name)})`);
    if (seenNames.has(p.name)) throw new InvalidInput(`${where}: partner "${p.name}" appears twice`);
    seenNames.add(p.name);
    const hash = typeof p.tokenSha256 === "string" ? p.tokenSha256.toLowerCase() : "";
    if (!HEX64.test(hash))
      throw new InvalidInput(
        `${where}.tokenSha256 must be 64 hex digits (the SHA-256 of the token, e.g. printf %s TOKEN | sha256sum), never the token itself`,
      );
    if (seenHashes.has(hash))
      throw new InvalidInput(`${where}: token hash of "${p.name}" is shared with another partner`);
    seenHashes.add(hash);
    if (!Array.isArray(p.scopes) || p.scopes.some((s) => !PARTNER_SCOPES.includes(s as PartnerScope)))
      throw new InvalidInput(`${where}.scopes must be a list of ${PARTNER_SCOPES.join(", ")}`);
    const perDay = p.imagesPerDay;
    if (typeof perDay !== "number" || !Number.isInteger(perDay) || perDay < 0)
      throw new InvalidInput(`${where}.imagesPerDay must be an integer >= 0`);
    const ensembles = parseEnsembleList(p.ensembles, `${where}.ensembles`);
    return {
      name: p.name,
      tokenSha256: hash,
      scopes: [...new Set(p.scopes as PartnerScope[])],
      imagesPerDay: perDay,
      ...(ensembles ? { ensembles } : {}),
    };
  });
}

export class PartnerDirectory {
  private readonly hashes: { account: PartnerAccount; digest: Buffer }[];

  constructor(accounts: PartnerAccount[]) {
    this.hashes = accounts.map((account) => ({ account, digest: Buffer.from(account.tokenSha256, "hex") }));
  }

  get size(): number {
    return this.hashes.length;
  }

  /** The partner of a token; Unauthenticated when missing or unknown (same message, no hint which). */
  authenticate(token: string | undefined): PartnerAccount {
    if (!token) throw new Unauthenticated('missing partner token: send metadata "authorization: Bearer <token>"');
    const presented = createHash("sha256").update(token, "utf8").digest();
    let found: PartnerAccount | undefined;
    for (const h of this.hashes) {
      // Every entry is compared, so the time does not depend on which one matches.
      if (timingSafeEqual(presented, h.digest) && !found) found = h.account;
    }
    if (!found) throw new Unauthenticated("invalid partner token; ask the hospital for a valid one");
    return found;
  }

  /** PermissionDenied unless the partner holds the scope the method needs. */
  authorize(account: PartnerAccount, method: string): PartnerScope {
    const scope = METHOD_SCOPES[method];
    if (!scope) throw new PermissionDenied(`method ${method} is not open to partners`);
    if (!account.scopes.includes(scope))
      throw new PermissionDenied(`partner "${account.name}" lacks scope "${scope}" needed by ${method}`);
    return scope;
  }
}
