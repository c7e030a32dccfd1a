// One subject's de-identified volumes back out as NIfTI, geometry as stored (the source's affine, codes,
// pixdim, datatype). A seg asked for in another label scheme is relabelled, keeping its geometry.
import { type ArtifactStore, InvalidInput, NotFound } from "@synthmri/platform";
import {
  DATASET_KIND,
  deidentifiedWriteInput,
  fromInternalLabels,
  type LabelScheme,
  type Role,
  ROLES,
  readNifti,
  toInternalLabels,
  writeNifti,
} from "@synthmri/volume";
import { getDataset } from "./datasets.js";

export interface ExportedFile {
  name: string;
  role: Role;
  bytes: Uint8Array;
}

export async function* exportSubject(
  artifacts: ArtifactStore,
  req: { datasetId: string; subjectKey: string; roles?: Role[]; labelScheme?: LabelScheme },
): AsyncGenerator<ExportedFile> {
  const m = await getDataset(artifacts, req.datasetId);
  if (!req.subjectKey) throw new InvalidInput("subject_key is required (a de-identified key from GetDataset)");
  const subject = m.subjects.find((s) => s.key === req.subjectKey);
  if (!subject) {
    throw new NotFound(
      m.origin === "synthetic"
        ? `dataset "${req.datasetId}" is synthetic and has no subject volumes to export`
        : `subject "${req.subjectKey}" is not in dataset "${req.datasetId}" (GetDataset with include_subjects lists them)`,
    );
  }
  const roles = req.roles && req.roles.length > 0 ? req.roles : [...ROLES];
  for (const role of roles) {
    const path = subject.volumes[role];
    if (!path) throw new NotFound(`subject "${req.subjectKey}" has no stored ${role} volume`);
    let bytes: Uint8Array = await artifacts.readFile(DATASET_KIND, req.datasetId, path);
    if (role === "seg" && req.labelScheme && req.labelScheme !== m.labelScheme) {
      const vol = readNifti(bytes, path);
      const internal = toInternalLabels(vol.scaled(), m.labelScheme, { subject: req.subjectKey, file: path });
      const relabelled = fromInternalLabels(internal, req.labelScheme);
      const Ctor = vol.data.constructor as new (a: ArrayLike<number>) => typeof vol.data;
      bytes = writeNifti({ ...deidentifiedWriteInput(vol, new Ctor(relabelled)), sclSlope: 1, sclInter: 0 });
    }
    yield { name: `${req.subjectKey}_${role}.nii.gz`, role, bytes };
  }
}
