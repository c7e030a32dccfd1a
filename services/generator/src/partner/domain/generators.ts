// The generators a partner may request (ListGenerators) and the card of each: what the ensemble is (family,
// resolution, members), what it learned from (train-split subjects and slices), the evidence for its use (the
// newest evaluator compare report covering it, else "not certified" explicitly) and its memorization figures
// (max-NCC percentiles of its samples vs real held-out slices, where a memorization report was computed).
// The offer is scoped per partner: the partner's own `ensembles` list, else the hospital's `ensembles`, else every
// trained ensemble; a request for an ensemble outside the offer reads as an unknown one.
import { type ArtifactStore, NotFound } from "@synthmri/platform";
import { latestMemorization, latestUtility, type MemorizationEvidence, type UtilityEvidence } from "./certificate.js";
import type { PartnerSampler } from "./ports.js";
import type { PartnerSettings } from "./request.js";
import type { PartnerAccount } from "./tokens.js";

export const CERTIFIED = "certified";
export const NOT_CERTIFIED = "not certified";
export const MEASURED = "measured";
export const NOT_MEASURED = "not measured";

export interface GeneratorCard {
  ensembleId: string;
  name: string;
  family: string;
  resolution: number;
  members: number;
  training: { subjects: number; slices: number };
  utility: { status: typeof CERTIFIED | typeof NOT_CERTIFIED; evidence: UtilityEvidence | null };
  memorization: { status: typeof MEASURED | typeof NOT_MEASURED; evidence: MemorizationEvidence | null };
  createdAt: string;
  isDefault: boolean;
  /** The gate threshold every bundle from it is screened with (the hospital's nccThreshold). */
  gateNccThreshold: number;
}

export interface GeneratorDeps {
  artifacts: ArtifactStore;
  sampler: PartnerSampler;
  settings: PartnerSettings;
}

/** The configured offer of this partner, or undefined when it is "every trained ensemble". */
function configuredOffer(account: PartnerAccount, settings: PartnerSettings): string[] | undefined {
  if (account.ensembles) return account.ensembles;
  return settings.offeredEnsembles.length ? settings.offeredEnsembles : undefined;
}

/** NotFound (like an unknown id) unless the partner may request from this ensemble. */
export function checkOffered(account: PartnerAccount, settings: PartnerSettings, ensembleId: string): void {
  const offer = configuredOffer(account, settings);
  if (offer && !offer.includes(ensembleId))
    throw new NotFound(
      `ensemble "${ensembleId}" is not offered to partner "${account.name}"; ListGenerators shows the ones you may request`,
    );
}

/** Ids this partner may request: configured ones that exist and are trained, or every trained ensemble. */
async function offeredIds(deps: GeneratorDeps, account: PartnerAccount): Promise<string[]> {
  const trained = await deps.sampler.listEnsembles();
  const offer = configuredOffer(account, deps.settings);
  if (!offer) return trained;
  // Newest first, like the trained list; a configured id that is not (yet) trained is not listed.
  return trained.filter((id) => offer.includes(id));
}

export async function generatorCard(deps: GeneratorDeps, ensembleId: string): Promise<GeneratorCard> {
  const info = await deps.sampler.describe(ensembleId);
  const [utility, memorization] = await Promise.all([
    latestUtility(deps.artifacts, ensembleId),
    latestMemorization(deps.artifacts, ensembleId),
  ]);
  return {
    ensembleId: info.ensembleId,
    name: info.name ?? "",
    family: info.family ?? "",
    resolution: info.resolution,
    members: info.members.length,
    training: info.training ?? { subjects: 0, slices: 0 },
    utility: utility ? { status: CERTIFIED, evidence: utility } : { status: NOT_CERTIFIED, evidence: null },
    memorization: memorization
      ? { status: MEASURED, evidence: memorization }
      : { status: NOT_MEASURED, evidence: null },
    createdAt: info.createdAt ?? "",
    isDefault: info.ensembleId === deps.settings.defaultEnsembleId,
    gateNccThreshold: deps.settings.nccThreshold,
  };
}

/** Cards of every generator the partner may request, newest first. */
export async function listGenerators(deps: GeneratorDeps, account: PartnerAccount): Promise<GeneratorCard[]> {
  const cards: GeneratorCard[] = [];
  for (const id of await offeredIds(deps, account)) {
    // An ensemble deleted or unreadable between the listing and its description is left out, not an error.
    const card = await generatorCard(deps, id).catch((e) => {
      if ((e as { kind?: string }).kind === "NotFound" || (e as { kind?: string }).kind === "FailedPrecondition")
        return undefined;
      throw e;
    });
    if (card) cards.push(card);
  }
  return cards;
}
