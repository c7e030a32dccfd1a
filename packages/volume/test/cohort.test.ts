import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidInput } from "@synthmri/core";
import { describe, expect, it } from "vitest";
import {
  applyReorientation,
  axcodes,
  deidentifiedWriteInput,
  fromCanonical,
  inv4,
  prepareSubject,
  toCanonical,
  detectLayout,
  fromInternalLabels,
  generatePhantomSubject,
  hashSubjectId,
  listCohort,
  type LoadedFile,
  phantomSubjectFiles,
  readNifti,
  type Role,
  scanDirectory,
  splitSubjects,
  toInternalLabels,
  validateSubject,
  writeNifti,
} from "../src/index.js";

const roles2020 = ["t1", "t1ce", "t2", "flair", "seg"];

describe("layouts", () => {
  it("detects and lists BraTS 2020 and 2023 cohorts, reporting missing files", () => {
    const p2020 = ["001", "002"].flatMap((n) =>
      roles2020
        .filter((r) => !(n === "002" && r === "seg"))
        .map((r) => `BraTS20_Training_${n}/BraTS20_Training_${n}_${r}.nii.gz`),
    );
    expect(detectLayout(p2020)).toBe("brats2020");
    const l = listCohort([...p2020, "README.txt", "odd/thing.nii.gz"]);
    expect(l.subjects.map((s) => s.subject)).toEqual(["BraTS20_Training_001", "BraTS20_Training_002"]);
    expect(l.subjects[0].files.t1ce).toBe("BraTS20_Training_001/BraTS20_Training_001_t1ce.nii.gz");
    expect(l.subjects[1].missing).toEqual(["seg"]);
    expect(l.ignored).toEqual(["odd/thing.nii.gz"]);

    const p2023 = ["t1n", "t1c", "t2w", "t2f", "seg"].map((r) => `BraTS-GLI-00001-000/BraTS-GLI-00001-000-${r}.nii.gz`);
    const l23 = listCohort(p2023);
    expect(l23.layout).toBe("brats2023");
    expect(l23.subjects[0]).toEqual({
      subject: "BraTS-GLI-00001-000",
      files: {
        t1: p2023[0],
        t1ce: p2023[1],
        t2: p2023[2],
        flair: p2023[3],
        seg: p2023[4],
      },
      missing: [],
    });
    expect(() => detectLayout(["a.txt"])).toThrow(InvalidInput);
  });

  it("reads CSV and JSON manifests", () => {
    const csv =
      "subject,t1,t1gd,t2,flair,mask\npat1,a/t1.nii,a/t1c.nii,a/t2.nii,a/fl.nii,a/seg.nii\npat2,b/t1.nii,,b/t2.nii,b/fl.nii,b/seg.nii\n";
    const l = listCohort([], { manifest: { name: "manifest.csv", text: csv } });
    expect(l.layout).toBe("manifest");
    expect(l.subjects[0].files).toEqual({
      t1: "a/t1.nii",
      t1ce: "a/t1c.nii",
      t2: "a/t2.nii",
      flair: "a/fl.nii",
      seg: "a/seg.nii",
    });
    expect(l.subjects[1].missing).toEqual(["t1ce"]);
    const json = JSON.stringify({ pat3: { t1: "x1", t1ce: "x2", t2: "x3", flair: "x4", seg: "x5" } });
    const lj = listCohort(["x1", "x2", "x3", "x4"], { manifest: { name: "m.json", text: json } });
    expect(lj.subjects[0].subject).toBe("pat3");
    expect(lj.subjects[0].missing).toEqual(["seg"]); // listed but not on disk
  });
});

describe("labels", () => {
  it("maps brats2020 and brats2023 to internal labels and back", () => {
    expect(Array.from(toInternalLabels([0, 1, 2, 4], "brats2020", { subject: "s" }))).toEqual([0, 1, 2, 3]);
    expect(Array.from(toInternalLabels([0, 1, 2, 3], "brats2023", { subject: "s" }))).toEqual([0, 1, 2, 3]);
    expect(Array.from(fromInternalLabels([0, 1, 2, 3], "brats2020"))).toEqual([0, 1, 2, 4]);
    expect(() =>
      toInternalLabels([0, 3], "brats2020", { subject: "BraTS20_Training_004", file: "x_seg.nii.gz" }),
    ).toThrow("subject BraTS20_Training_004: x_seg.nii.gz: seg label 3 is not in scheme brats2020 (1 NCR, 2 ED, 4 ET)");
  });
});

function loaded(size: [number, number, number] = [16, 16, 8]): Record<Role, LoadedFile> {
  const s = generatePhantomSubject(0, { size, seed: 1 });
  const files = phantomSubjectFiles(s);
  const out = {} as Record<Role, LoadedFile>;
  for (const [name, bytes] of Object.entries(files)) {
    const role = name.replace(/^.*_([a-z0-9]+)\.nii\.gz$/, "$1") as Role;
    out[role] = { name, volume: readNifti(bytes, name) };
  }
  return out;
}

describe("validateSubject", () => {
  it("accepts a complete subject and maps its seg", () => {
    const r = validateSubject("s1", loaded(), { scheme: "brats2020" });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value.shape).toEqual([16, 16, 8]);
      expect(Math.max(...r.value.seg)).toBeLessThanOrEqual(3);
    }
  });

  it("names subject, file and reason for each problem", () => {
    const f = loaded();
    const missing = { ...f, seg: undefined };
    const r1 = validateSubject("s1", missing, { scheme: "brats2020" });
    expect(r1.ok).toBe(false);
    if (!r1.ok) expect(r1.problems[0]).toEqual({ subject: "s1", reason: "missing segmentation (seg)" });

    const other = loaded([16, 16, 9]);
    const r2 = validateSubject("s1", { ...f, t2: other.t2 }, { scheme: "brats2020" });
    expect(!r2.ok && r2.problems.map((p) => p.reason).join()).toMatch(/shape 16x16x9 differs/);

    const r3 = validateSubject("s1", f, { scheme: "brats2023" });
    expect(!r3.ok && r3.problems[0]).toEqual({
      subject: "s1",
      file: "BraTS20_Training_001_seg.nii.gz",
      reason: "seg label 4 is not in scheme brats2023 (1 NCR, 2 ED, 3 ET)",
    });

    const nan = new Float32Array(16 * 16 * 8);
    nan[5] = Number.NaN;
    const nanVol = readNifti(writeNifti({ shape: [16, 16, 8], data: nan, affine: f.t1.volume.affine }), "nan.nii.gz");
    const r4 = validateSubject("s1", { ...f, flair: { name: "nan.nii.gz", volume: nanVol } }, { scheme: "brats2020" });
    expect(!r4.ok && r4.problems[0]).toEqual({
      subject: "s1",
      file: "nan.nii.gz",
      reason: "voxel 5 is NaN (NaN/Inf values are not allowed)",
    });

    const shifted = f.t1.volume.affine.map((row) => [...row]);
    shifted[0][3] += 2;
    const moved = readNifti(
      writeNifti({ shape: [16, 16, 8], data: f.t2.volume.data, affine: shifted }),
      "moved.nii.gz",
    );
    const r5 = validateSubject("s1", { ...f, t2: { name: "moved.nii.gz", volume: moved } }, { scheme: "brats2020" });
    expect(!r5.ok && r5.problems[0].reason).toMatch(/affine differs .* by up to 2.00 mm/);
  });
});

describe("de-identification and split", () => {
  it("drops text fields and extensions but keeps geometry", () => {
    const bytes = writeNifti({
      shape: [4, 4, 4],
      data: new Int16Array(64).fill(3),
      affine: [
        [-1, 0, 0, 10],
        [0, -1, 0, 20],
        [0, 0, 1, 30],
        [0, 0, 0, 1],
      ],
      descrip: "Patient Jane Doe 1970-01-01",
      auxFile: "jd.txt",
      intentName: "JD",
      sformCode: 2,
      extensions: [{ ecode: 6, data: new TextEncoder().encode("comment: Jane Doe") }],
    });
    const v = readNifti(bytes, "in.nii.gz");
    expect(v.header.extensions.length).toBe(1);
    const clean = readNifti(writeNifti(deidentifiedWriteInput(v)), "out.nii.gz");
    expect(clean.header.descrip).toBe("");
    expect(clean.header.auxFile).toBe("");
    expect(clean.header.intentName).toBe("");
    expect(clean.header.extensions).toEqual([]);
    expect(clean.affine).toEqual(v.affine);
    expect(clean.header.sformCode).toBe(2);
    expect(Array.from(clean.data)).toEqual(Array.from(v.data));
    expect(Buffer.from(writeNifti(deidentifiedWriteInput(v))).includes("Jane")).toBe(false);
  });

  it("hashes subject ids with a salt", () => {
    const a = hashSubjectId("BraTS20_Training_001", "salt-1");
    expect(a).toMatch(/^sub-[0-9a-f]{16}$/);
    expect(hashSubjectId("BraTS20_Training_001", "salt-1")).toBe(a);
    expect(hashSubjectId("BraTS20_Training_001", "salt-2")).not.toBe(a);
    expect(() => hashSubjectId("x", "")).toThrow(/salt/);
  });

  it("splits 369 subjects 313/56 deterministically, independent of input order", () => {
    const ids = Array.from({ length: 369 }, (_, i) => `BraTS20_Training_${String(i + 1).padStart(3, "0")}`);
    const a = splitSubjects(ids);
    expect(a.train.length).toBe(313);
    expect(a.test.length).toBe(56);
    expect(new Set([...a.train, ...a.test]).size).toBe(369);
    expect(splitSubjects([...ids].reverse())).toEqual(a);
    expect(splitSubjects(ids, { seed: "001" }).test).not.toEqual(a.test);
    expect(splitSubjects(ids, { testFraction: 0.2 }).test.length).toBe(74);
  });
});

describe("scanDirectory", () => {
  it("lists a phantom cohort on disk that listCohort understands", async () => {
    const dir = mkdtempSync(join(tmpdir(), "volume-scan-"));
    try {
      const s = generatePhantomSubject(0, { size: [8, 8, 8], seed: 1 });
      mkdirSync(join(dir, s.id));
      for (const [name, bytes] of Object.entries(phantomSubjectFiles(s))) writeFileSync(join(dir, s.id, name), bytes);
      const l = listCohort(await scanDirectory(dir));
      expect(l.layout).toBe("brats2020");
      expect(l.subjects.map((x) => [x.subject, x.missing.length])).toEqual([["BraTS20_Training_001", 0]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("prepareSubject", () => {
  it("runs decode, validation, de-identification, LPS reorientation and slicing in one call", () => {
    const s = generatePhantomSubject(0, { size: [24, 24, 12], seed: 5 });
    const named = Object.fromEntries(
      Object.entries(phantomSubjectFiles(s)).map(([name, bytes]) => [
        name.replace(/^.*_([a-z0-9]+)\.nii\.gz$/, "$1"),
        { name, bytes },
      ]),
    );
    const r = prepareSubject(s.id, named, { scheme: "brats2020", salt: "pepper" });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.storedId).toBe(hashSubjectId(s.id, "pepper"));
    expect(r.value.slices.batch.subject.every((x) => x === r.value.storedId)).toBe(true);
    expect(r.value.slices.batch.height).toBe(32);
    expect(readNifti(r.value.volumes.t1, "t1").header.descrip).toBe("");

    // A RAS-stored copy (x and y flipped) comes out identical after reorientation.
    const flipped = { ...named };
    for (const role of ["t1", "t1ce", "t2", "flair", "seg"] as const) {
      const v = readNifti(named[role].bytes, role);
      const { volume } = toCanonical({ shape: v.shape, data: v.data, affine: v.affine });
      const ras = applyReorientation(volume, { perm: [0, 1, 2], flip: [true, true, false] });
      flipped[role] = {
        name: named[role].name,
        bytes: writeNifti({ shape: ras.shape, data: ras.data, affine: ras.affine }),
      };
    }
    const r2 = prepareSubject(s.id, flipped, { scheme: "brats2020", salt: "pepper" });
    expect(r2.ok && Buffer.from(r2.value.slices.batch.data).equals(Buffer.from(r.value.slices.batch.data))).toBe(true);

    const bad = prepareSubject(
      s.id,
      { ...named, t2: { name: "t2.nii.gz", bytes: new Uint8Array(10) } },
      { scheme: "brats2020" },
    );
    expect(!bad.ok && bad.problems[0].file).toBe("t2.nii.gz");
  });
});

describe("orientation", () => {
  it("round-trips exactly and reaches LPS from any axis order", () => {
    const data = new Int16Array(4 * 3 * 2).map((_, i) => i);
    const affine = [
      [0, 0, 2, 1],
      [1, 0, 0, 2],
      [0, -1, 0, 3],
      [0, 0, 0, 1],
    ]; // voxel axes: A, I, R
    const { volume, transform } = toCanonical({ shape: [4, 3, 2], data, affine });
    expect(axcodes(volume.affine)).toEqual(["L", "P", "S"]);
    expect(volume.shape).toEqual([2, 4, 3]);
    // every voxel keeps its value at the same world position
    const inv = inv4(affine);
    for (let c = 0; c < 3; c++)
      for (let b = 0; b < 4; b++)
        for (let a = 0; a < 2; a++) {
          const w = volume.affine.map((row) => row[0] * a + row[1] * b + row[2] * c + row[3]);
          const [i, j, k] = inv
            .slice(0, 3)
            .map((row) => Math.round(row[0] * w[0] + row[1] * w[1] + row[2] * w[2] + row[3]));
          expect(volume.data[a + 2 * (b + 4 * c)]).toBe(data[i + 4 * (j + 3 * k)]);
        }
    const back = fromCanonical(volume, transform);
    expect(back.shape).toEqual([4, 3, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
    expect(back.affine).toEqual(affine);
  });
});
