// The dataset card (README.md at the root of every bundle): what the data is, how it was made and screened, the
// utility evidence and the terms, in words a partner reads before using it. Built from the certificate only.
import type { CertificateDoc } from "./certificate.js";

function figures(rec: Record<string, number>, digits = 3): string {
  const e = Object.entries(rec);
  return e.length ? e.map(([k, v]) => `${k} ${v.toFixed(digits)}`).join(", ") : "none";
}

export function datasetCard(
  c: CertificateDoc,
  o: { bundleId: string; format: "nnunet" | "tensor-shards"; size: number; nnunetFolder?: string },
): string {
  const layout =
    o.format === "nnunet"
      ? [
          `- \`${o.nnunetFolder}/\`: an nnU-Net v2 raw dataset. Copy it into \`$nnUNet_raw\`, then`,
          `  \`nnUNetv2_plan_and_preprocess -d ${Number(o.nnunetFolder?.slice(7, 10))}\` and \`nnUNetv2_train ${Number(o.nnunetFolder?.slice(7, 10))} 2d 0\`.`,
          "  `imagesTr/case_XXXX_000C.nii.gz` (C: 0 T1, 1 T1ce, 2 T2, 3 FLAIR; uint8 0-255), `labelsTr/case_XXXX.nii.gz`",
          "  (0 background, 1 NCR, 2 ED, 3 ET), `dataset.json` with the BraTS regions (whole tumour, tumour core,",
          "  enhancing tumour). Each case is one 2-D axial slice stored as a W x H x 1 NIfTI.",
        ]
      : ["- `shards/`: uint8 NHWC slice shards (T1, T1ce, T2, FLAIR, mask at 0/51/102/204) and `shards/index.json`."];
  const u = c.utility;
  return [
    `# Synthetic brain-tumour MRI dataset (bundle ${o.bundleId})`,
    "",
    `${o.size} synthetic 2-D axial slices, each with four MR sequences and a tumour segmentation, sampled from a GAN`,
    `ensemble (\`${c.ensembleId}\`) trained on a hospital's BraTS-layout cohort (${c.realTrainSlices} real training`,
    "slices). **No image is a patient's**: every sample was screened against the real training slices (below).",
    "",
    "## Contents",
    ...layout,
    "- `certificate.json`: the figures below, machine-readable; `provenance.json`: per sample its ensemble member,",
    "  checkpoint, latent seed and nearest-real-slice similarity; `LICENCE.txt`: the hospital's terms.",
    "",
    "## How it was screened",
    `- sampled ${c.sampled} images, delivered ${c.delivered} (seed ${c.seed});`,
    `- anatomy check (brain present, plausible tumour): ${c.rejectedAnatomy} rejected;`,
    `- memorization screen: a sample whose normalized cross-correlation with any real training slice reaches`,
    `  ${c.memorizationThreshold} (channels: ${c.memorizationChannels}) is dropped; ${c.rejectedMemorization} rejected;`,
    `- your filters: ${c.rejectedFilters} rejected.`,
    `- quality figures: ${figures(c.quality)}.`,
    "",
    "## Utility evidence",
    c.utilityStatus === "evaluated" && u
      ? [
          `U-Nets trained on this ensemble's synthetic data (condition \`${u.condition}\`) were evaluated on held-out`,
          `real subjects (report \`${u.reportId}\`, ${u.reportCreatedAt}): Dice ${figures(u.diceMean)}`,
          `(std ${figures(u.diceStd)}); permutation-test p-values against \`${u.baseline}\`: ${figures(u.pValues, 4)}.`,
        ].join("\n")
      : "No evaluation of this ensemble yet: the hospital has not run an experiment that scores U-Nets trained on its\nsynthetic data. Treat the utility as unknown.",
    "",
    "## Terms",
    c.licence || "No licence terms were configured by the hospital; ask it before any use.",
    "",
    `Issued ${c.issuedAt}.`,
    "",
  ].join("\n");
}
