// Partner configuration: the JSON file named by PARTNER_TOKENS_FILE. Besides the partners (token hashes,
// scopes, quotas) it holds the hospital's settings for every bundle:
//   { "partners": [{ "name", "tokenSha256", "scopes": ["datasets:request", "datasets:read"], "imagesPerDay" }],
//     "licence": "text" | "licenceFile": "path relative to this file",
//     "defaultEnsembleId": "...", "ensembles": ["ens-..."] (offered to every partner; a partner's own
//     "ensembles" list replaces it for that partner; neither = every trained ensemble), "nccThreshold": 0.95, "maxImagesPerRequest": 10000, "maxDrawFactor": 10,
//     "anatomy": { "brainThreshold": 4, "maxTumourOutsideBrain": 0, "maxCoreOnBackground": 0.5 } }
// Without PARTNER_TOKENS_FILE the PartnerService refuses every call (no partner can authenticate).
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { InvalidInput } from "@synthmri/platform";
import { DEFAULT_ANATOMY_RULES } from "../domain/anatomy.js";
import { DEFAULT_PARTNER_SETTINGS, type PartnerSettings } from "../domain/request.js";
import { parseEnsembleList, parsePartnerTokens, PartnerDirectory } from "../domain/tokens.js";

export interface PartnerConfig {
  directory: PartnerDirectory;
  settings: PartnerSettings;
  /** False when no tokens file is configured. */
  enabled: boolean;
}

function num(
  doc: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
  file: string,
): number {
  const v = doc[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max)
    throw new InvalidInput(`${file}: ${key} must be a number in [${min}, ${max}] (got ${JSON.stringify(v)})`);
  return v;
}

export async function parsePartnerConfig(text: string, file: string): Promise<PartnerConfig> {
  const accounts = parsePartnerTokens(text, file);
  const doc = JSON.parse(text) as Record<string, unknown>;
  let licence = typeof doc.licence === "string" ? doc.licence : "";
  if (typeof doc.licenceFile === "string") {
    const path = resolve(dirname(file), doc.licenceFile);
    licence = await readFile(path, "utf8").catch((e) => {
      throw new InvalidInput(`${file}: licenceFile ${path} cannot be read (${(e as Error).message})`);
    });
  }
  const anatomyDoc = (doc.anatomy ?? {}) as Record<string, unknown>;
  const settings: PartnerSettings = {
    licence: licence.trim(),
    defaultEnsembleId: typeof doc.defaultEnsembleId === "string" ? doc.defaultEnsembleId : "",
    offeredEnsembles: parseEnsembleList(doc.ensembles, `${file}: ensembles`) ?? [],
    nccThreshold: num(doc, "nccThreshold", DEFAULT_PARTNER_SETTINGS.nccThreshold, 0.5, 1, file),
    maxImagesPerRequest: num(
      doc,
      "maxImagesPerRequest",
      DEFAULT_PARTNER_SETTINGS.maxImagesPerRequest,
      1,
      1_000_000,
      file,
    ),
    maxDrawFactor: num(doc, "maxDrawFactor", DEFAULT_PARTNER_SETTINGS.maxDrawFactor, 1, 1000, file),
    anatomy: {
      brainThreshold: num(anatomyDoc, "brainThreshold", DEFAULT_ANATOMY_RULES.brainThreshold, 0, 254, file),
      maxTumourOutsideBrain: num(
        anatomyDoc,
        "maxTumourOutsideBrain",
        DEFAULT_ANATOMY_RULES.maxTumourOutsideBrain,
        0,
        1,
        file,
      ),
      maxCoreOnBackground: num(
        anatomyDoc,
        "maxCoreOnBackground",
        DEFAULT_ANATOMY_RULES.maxCoreOnBackground,
        0,
        1,
        file,
      ),
    },
  };
  return { directory: new PartnerDirectory(accounts), settings, enabled: true };
}

/** Reads config.partnerTokensFile (PARTNER_TOKENS_FILE); disabled flow when unset. */
export async function loadPartnerConfig(tokensFile: string | undefined): Promise<PartnerConfig> {
  if (!tokensFile) return { directory: new PartnerDirectory([]), settings: DEFAULT_PARTNER_SETTINGS, enabled: false };
  const text = await readFile(tokensFile, "utf8").catch((e) => {
    throw new InvalidInput(`PARTNER_TOKENS_FILE ${tokensFile} cannot be read (${(e as Error).message})`);
  });
  return parsePartnerConfig(text, tokensFile);
}
