import { createHash } from "node:crypto";
import { InvalidInput } from "@synthmri/core";
import type { NiftiHeader } from "../nifti/header.js";
import type { NiftiVolume } from "../nifti/read.js";
import type { WriteNiftiInput } from "../nifti/write.js";

/** A copy of the header with every free-text field and all extensions removed. */
export function deidentifyHeader(h: NiftiHeader): NiftiHeader {
  return { ...h, descrip: "", auxFile: "", intentName: "", dbName: "", extensions: [] };
}

/**
 * Salted hash of a subject id ("sub-" + 16 hex digits of SHA-256(salt, id)): stable for one salt,
 * unlinkable without it. The salt comes from configuration and must not be empty.
 */
export function hashSubjectId(id: string, salt: string): string {
  if (!salt) throw new InvalidInput("de-identification needs a non-empty salt (set it in the configuration)");
  return `sub-${createHash("sha256").update(salt).update("\0").update(id).digest("hex").slice(0, 16)}`;
}

/**
 * Writer input that reproduces a volume's geometry (affine, xform codes, pixdim of extra axes,
 * units), datatype and scaling, with no text fields and no extensions: the de-identified copy
 * that is stored and exported.
 */
export function deidentifiedWriteInput(vol: NiftiVolume, data = vol.data): WriteNiftiInput {
  const h = vol.header;
  return {
    shape: vol.shape,
    data,
    affine: vol.affine,
    datatype: h.datatype,
    extraPixdim: h.pixdim.slice(4),
    qformCode: h.qformCode,
    sformCode: h.sformCode,
    xyztUnits: h.xyztUnits,
    sclSlope: h.sclSlope,
    sclInter: h.sclInter,
    calMin: h.calMin,
    calMax: h.calMax,
    intentCode: h.intentCode,
  };
}
