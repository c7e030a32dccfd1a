// The experiment spec's JSON schema (ajv, draft-07). Every field has a default so that a spec file only
// names what it changes; unknown fields are errors (a typo must not be silently ignored).
/** Generator families (the service's TrainGan families): PGAN-style GANs and those of issues 21 and 22. */
export const GAN_FAMILY_NAMES = ["pgan", "dcgan", "lsgan", "hinge", "spade2stage", "stylegan2", "ddpm"] as const;

import { EXECUTOR_SCHEMA, KUBERNETES_SCHEMA } from "../kube/spec.js";

export const SPEC_SCHEMA = {
  $id: "https://synthmri.dev/schemas/experiment-spec.json",
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: {
    name: {
      type: "string",
      pattern: "^[a-z0-9][a-z0-9-]{0,40}$",
      description: "lower-case name; part of the experiment id",
    },
    description: { type: "string" },
    seed: { type: "integer", minimum: 0, maximum: 4294967295, default: 0 },
    executor: EXECUTOR_SCHEMA,
    kubernetes: KUBERNETES_SCHEMA,
    data: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        source: { enum: ["phantom", "directory", "dataset"], default: "phantom" },
        datasetId: {
          type: "string",
          minLength: 1,
          description: "an ingested dataset's id (source: dataset; see 'synthmri datasets list')",
        },
        path: { type: "string", minLength: 1, description: "BraTS 2020/2021/2023 directory (source: directory)" },
        phantomSubjects: { type: "integer", minimum: 4, maximum: 2000, default: 24 },
        phantomSize: {
          type: "array",
          items: { type: "integer", minimum: 16, maximum: 512 },
          minItems: 3,
          maxItems: 3,
          default: [64, 64, 40],
        },
        maxSubjects: { type: "integer", minimum: 0, default: 0 },
        testSubjects: { type: "integer", minimum: 1, default: 6 },
        sliceSize: { enum: [16, 32, 64, 128, 256], default: 32 },
      },
    },
    gan: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        family: { enum: [...GAN_FAMILY_NAMES], default: "pgan" },
        families: {
          type: "array",
          items: { enum: [...GAN_FAMILY_NAMES] },
          uniqueItems: true,
          default: [],
          description: "families compared on the same data (one experiment each); empty = gan.family only",
        },
        resolution: {
          enum: [0, 8, 16, 32, 64, 128, 256],
          default: 0,
          description: "GAN output side; 0 = data.sliceSize (smaller trains faster; the U-Net resizes)",
        },
        members: { type: "integer", minimum: 1, maximum: 100, default: 3 },
        concurrency: { type: "integer", minimum: 1, maximum: 64, default: 1 },
        latentDim: { type: "integer", minimum: 0, default: 0 },
        kimgPerPhase: { type: "number", minimum: 0, default: 0 },
        totalKimg: { type: "number", minimum: 0, default: 0 },
        batchSize: { type: "integer", minimum: 0, default: 0 },
        learningRate: { type: "number", minimum: 0, default: 0 },
        fmapMax: { type: "integer", minimum: 0, default: 0 },
        fmapMin: { type: "integer", minimum: 0, default: 0 },
        startResolution: { type: "integer", minimum: 0, default: 0 },
        emaDecay: {
          type: "number",
          minimum: 0,
          exclusiveMaximum: 1,
          default: 0.999,
          description: "generator moving average for sampling (PGAN's Gs); 0 = sample the trained generator",
        },
        maskEncoding: {
          enum: ["level", "onehot", "regions"],
          default: "level",
          description:
            "how pgan/dcgan/lsgan/hinge/ddpm see the tumour mask: one channel on the label levels, NCR/ED/ET " +
            "channels, or the nested regions WT/TC/ET as channels (+1/-1; samples are decoded to the level channel)",
        },
      },
    },
    synthetic: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        images: {
          type: "integer",
          minimum: 1,
          default: 512,
          description: "images in every synthetic dataset, split equally across the GANs that make it",
        },
        ensembleSizes: {
          type: "array",
          items: { type: "integer", minimum: 1 },
          minItems: 1,
          uniqueItems: true,
          default: [1, 3],
          description: "one synthetic dataset (and condition synthetic-k) per size k",
        },
        mixWithReal: {
          type: "array",
          items: { type: "integer", minimum: 1 },
          uniqueItems: true,
          default: [3],
          description: "sizes k that also get a real+synthetic-k condition",
        },
        outlierFilter: { type: "boolean", default: false },
        checkpoint: {
          enum: ["latest", "best-swd"],
          description:
            "checkpoint each GAN samples from: its latest (absent = latest) or seed 001's lowest-SWD one at full resolution",
        },
      },
    },
    segmenter: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        runs: { type: "integer", minimum: 1, maximum: 100, default: 2 },
        epochs: { type: "integer", minimum: 0, default: 0 },
        iterationsPerEpoch: { type: "integer", minimum: 0, default: 0 },
        batchSize: { type: "integer", minimum: 0, default: 0 },
        depth: { type: "integer", minimum: 0, default: 0 },
        baseFilters: { type: "integer", minimum: 0, default: 0 },
        maxFilters: { type: "integer", minimum: 0, default: 0 },
        deepSupervision: { type: "integer", minimum: 0, default: 0 },
        learningRate: { type: "number", minimum: 0, default: 0 },
        momentum: {
          type: "number",
          minimum: 0,
          exclusiveMaximum: 1,
          default: 0,
          description: "SGD Nesterov momentum; 0 = 0.99",
        },
        patchSize: {
          type: "integer",
          minimum: 0,
          default: 0,
          description:
            "nnU-Net patch-based training: train on random crops of this side (tumour-centred for forced foreground samples), segment whole slices; 0 = whole slices",
        },
        validationFraction: { type: "number", minimum: 0, maximum: 0.9, default: 0.2 },
        augmentation: { type: "boolean", default: false },
        maxSlices: { type: "integer", minimum: 0, default: 0 },
        trainingSamples: {
          type: "integer",
          minimum: 0,
          default: 0,
          description:
            "U-Net training length in samples (seed 000: up to 3e7); sets iterationsPerEpoch = ceil(samples / (epochs x batchSize)) and stops at exactly this many samples; 0 = as epochs x iterationsPerEpoch x batchSize",
        },
        maxTrainingSeconds: {
          type: "number",
          minimum: 0,
          default: 0,
          description:
            "U-Net training time limit per run in seconds (seed 000: up to 3 days = 259200); the best validated epoch so far is kept; 0 = none",
        },
        validation: {
          enum: ["per-source", "real-subjects"],
          default: "per-source",
          description:
            "per-source: every training dataset holds out validationFraction of itself (real by subject, synthetic by image, as seed 000); real-subjects: every condition selects its epoch on the same held-out real subjects",
        },
      },
    },
    controls: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        modeDroppingFraction: {
          type: "number",
          minimum: 0,
          maximum: 1,
          default: 0,
          description:
            "positive control: one GAN trained on this fraction of the training subjects (mode dropping by design); 0 = none",
        },
        disjointHalves: {
          type: "boolean",
          default: false,
          description: "negative control: two GANs of the ensemble's configuration on disjoint halves of the subjects",
        },
        equivalenceMargin: {
          type: "number",
          minimum: 0,
          maximum: 1,
          default: 0.05,
          description:
            "where no difference is expected (the negative control), a significant difference of less than this much mean Dice still counts as equal: a paired test over 10 subjects calls a consistent 0.002 significant",
        },
      },
    },
    baselines: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        intensityOnly: {
          type: "boolean",
          default: false,
          description: "a row for the intensity-only per-pixel classifier (no spatial context)",
        },
      },
    },
    evaluation: {
      type: "object",
      additionalProperties: false,
      default: {},
      properties: {
        emptyCasePolicy: { enum: ["one", "exclude"], default: "one" },
        tta: { type: "boolean", default: false },
        permutationSamples: { type: "integer", minimum: 0, default: 0 },
      },
    },
  },
} as const;
