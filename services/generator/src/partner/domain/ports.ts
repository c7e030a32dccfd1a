// What the partner flow needs from the rest of the generator: an ensemble's description, samples from it
// (through the generator's sampling API, see src/partner/adapters/partner-sampler.ts) and the real training slices the
// memorization gate compares against. Tests pass small fakes.

/** Where one exported sample came from: (ensemble, member, checkpoint, seed, index) regenerates it. */
export interface SampleOrigin {
  ensembleId: string;
  member: number;
  ganId: string;
  checkpointKimg: number;
  seed: number;
  index: number;
}

/** uint8 NHWC slices (4 MR channels 0-255, mask last at 0/51/102/204). */
export interface PartnerSampleBatch {
  count: number;
  size: number;
  channels: number;
  data: Uint8Array;
  origins: SampleOrigin[];
}

export interface EnsembleMemberInfo {
  index: number;
  ganId: string;
  checkpointKimg: number;
  /** Laplacian SWD x 1e3 of the member's latest checkpoint, null when not measured. */
  swd: number | null;
}

export interface EnsembleInfo {
  ensembleId: string;
  /** The real dataset the ensemble was trained on (its train split is the gate's reference). */
  datasetId: string;
  resolution: number;
  members: EnsembleMemberInfo[];
  /** Card facts (ListGenerators); absent where the source does not know them. */
  name?: string;
  family?: string;
  /** ISO time its training started. */
  createdAt?: string;
  /** Subjects and slices of the training dataset's train split. */
  training?: { subjects: number; slices: number };
}

export interface RealSlices {
  n: number;
  h: number;
  w: number;
  c: number;
  data: Uint8Array;
}

export interface PartnerSampler {
  /** Ids of the ensembles whose training finished (committed `ensemble` artifact), newest first. */
  listEnsembles(): Promise<string[]>;
  /** NotFound for an unknown ensemble; FailedPrecondition before it has checkpoints. */
  describe(ensembleId: string): Promise<EnsembleInfo>;
  /** `count` samples split over the members, latents from `seed` (same seed = same samples). */
  sample(ensembleId: string, count: number, seed: number, signal?: AbortSignal): AsyncIterable<PartnerSampleBatch>;
  /** Every train-split slice of the dataset at size x size. */
  realTrainSlices(datasetId: string, size: number, signal?: AbortSignal): Promise<RealSlices>;
}
