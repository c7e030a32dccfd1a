import { axcodes, qformAffine, sformAffine, voxelSizes } from "./affine.js";
import type { NiftiVolume } from "./read.js";
import { exactIntegerSum, labelCounts, voxelStats } from "./stats.js";

/** JSON-safe number: non-finite floats become the strings "NaN", "Infinity", "-Infinity". */
export function jsonNumber(v: number): number | string {
  return Number.isFinite(v) ? v : String(v);
}

const AFFINE_SOURCE_TEXT = {
  sform: "sform",
  qform: "qform",
  fallback: "fallback (no qform/sform code): nibabel base affine",
} as const;

/**
 * Header fields and statistics of a volume, with the field names and conventions of the shared
 * conformance set's reference.json (raw header values; stats over scaled float64 data).
 */
export function niftiInfo(vol: NiftiVolume, opts: { labels?: boolean } = {}): Record<string, unknown> {
  const h = vol.header;
  const dt = vol.datatype;
  const out: Record<string, unknown> = {
    nifti_version: h.version,
    endianness: h.littleEndian ? "little" : "big",
    sizeof_hdr: h.sizeofHdr,
    magic: h.magic,
    datatype: h.datatype,
    datatype_name: dt.name,
    bitpix: h.bitpix,
    dim: h.dim,
    shape: vol.shape,
    pixdim: h.pixdim.map(jsonNumber),
    vox_offset: h.voxOffset,
    scl_slope: jsonNumber(h.sclSlope),
    scl_inter: jsonNumber(h.sclInter),
    xyzt_units: h.xyztUnits,
    intent_code: h.intentCode,
    qform_code: h.qformCode,
    sform_code: h.sformCode,
    quatern_bcd: h.quatern,
    qoffset_xyz: h.qoffset,
    descrip: h.descrip,
    cal_min_max: [jsonNumber(h.calMin), jsonNumber(h.calMax)],
    qform_affine: qformAffine(h.quatern, h.qoffset, h.pixdim),
    sform_affine: sformAffine(h.srow),
    extensions: h.extensions.map((e) => ({ ecode: e.ecode, esize: e.esize })),
    affine_source: AFFINE_SOURCE_TEXT[vol.affineSource],
    affine: vol.affine,
    axcodes: axcodes(vol.affine),
    voxel_sizes: voxelSizes(vol.affine),
    effective_slope: vol.slope,
    effective_inter: vol.inter,
  };
  const data = vol.data;
  if (dt.name === "complex64") {
    const n = data.length / 2;
    out.real_stats = voxelStats(data, { start: 0, stride: 2, n, slope: vol.slope, inter: vol.inter });
    out.imag_stats = voxelStats(data, { start: 1, stride: 2, n, slope: vol.slope, inter: vol.inter });
  } else if (dt.name === "RGB") {
    const n = data.length / 3;
    out.channel_stats = {
      R: voxelStats(data, { start: 0, stride: 3, n }),
      G: voxelStats(data, { start: 1, stride: 3, n }),
      B: voxelStats(data, { start: 2, stride: 3, n }),
    };
  } else {
    if (dt.integer) {
      const s = exactIntegerSum(data);
      out.raw_sum = typeof s === "bigint" ? s.toString() : s;
    }
    const raw = voxelStats(data);
    out.raw_min = raw.min;
    out.raw_max = raw.max;
    out.stats = statsJson(voxelStats(data, { slope: vol.slope, inter: vol.inter }));
    if (opts.labels) out.label_counts = labelCounts(data, vol.slope, vol.inter);
  }
  const warnings = niftiWarnings(vol);
  if (warnings.length > 0) out.warnings = warnings;
  return out;
}

/**
 * What makes a file unusable for training although it decodes: undefined voxel spacing (non-finite or
 * non-positive pixdim of a spatial axis) and NaN/Inf voxels. `nifti info` prints them; validation refuses them.
 */
export function niftiWarnings(vol: NiftiVolume): string[] {
  const out: string[] = [];
  const h = vol.header;
  const spatial = Math.min(3, h.dim[0] ?? 0);
  for (let i = 1; i <= spatial; i++) {
    const p = h.pixdim[i] ?? Number.NaN;
    if (!Number.isFinite(p) || p <= 0) out.push(`pixdim[${i}] is ${p}: the voxel spacing of axis ${i} is undefined`);
  }
  if (!vol.datatype.integer) {
    let bad = 0;
    let first = -1;
    for (let i = 0; i < vol.data.length; i++) {
      if (!Number.isFinite(vol.data[i] as number)) {
        bad++;
        if (first < 0) first = i;
      }
    }
    if (bad > 0) out.push(`${bad} stored values are NaN or infinite (first at index ${first})`);
  }
  return out;
}

function statsJson(s: ReturnType<typeof voxelStats>): Record<string, number | string> {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, jsonNumber(v)]));
}
