// Finished bundles are `partner-bundle` artifacts: bundle.tar (everything the partner gets) plus certificate.json,
// provenance.json and (nnU-Net) dataset.json next to it for inspection; manifest.json last. The manifest records
// the owning partner, so other partners get NOT_FOUND (not even the bundle's existence leaks).
import { type ArtifactStore, type Manifest, NotFound, InvalidInput, type ObjectRef } from "@synthmri/platform";
import type { CertificateDoc } from "./certificate.js";
import type { BundleFormatName } from "./formats.js";

export const BUNDLE_KIND = "partner-bundle";
export const ARCHIVE_FILE = "bundle.tar";

export interface ArchiveEntryInfo {
  name: string;
  size: number;
  sha256: string;
  /** Byte offset of the entry's data inside bundle.tar (lets a download stream one entry). */
  offset: number;
}

export interface BundleFields {
  partner: string;
  bundle: {
    format: BundleFormatName;
    size: number;
    jobId: string;
    certificate: CertificateDoc;
    entries: ArchiveEntryInfo[];
  };
}

export type BundleManifest = Manifest<BundleFields>;

export interface BundleView {
  id: string;
  manifest: BundleManifest;
  files: ObjectRef[];
  archive: ObjectRef;
}

export function checkBundleId(id: string): void {
  if (!id) throw new InvalidInput("bundle_id is empty");
  if (!/^pb-[a-z0-9-]{6,80}$/.test(id))
    throw new InvalidInput(`bundle_id "${id.slice(0, 100)}" is not a bundle id (pb-...)`);
}

/** The partner's finished bundle; NotFound when unknown, unfinished or another partner's. */
export async function readBundle(artifacts: ArtifactStore, partner: string, id: string): Promise<BundleView> {
  checkBundleId(id);
  const manifest = await artifacts.tryGetManifest<BundleFields>(BUNDLE_KIND, id);
  if (!manifest || manifest.partner !== partner)
    throw new NotFound(`bundle ${id} not found (or not finished yet: follow its job with WatchJob)`);
  const names = Object.keys(manifest.checksums).sort();
  const files = await Promise.all(names.map((n) => artifacts.fileRef(BUNDLE_KIND, id, n)));
  return { id, manifest, files, archive: await artifacts.fileRef(BUNDLE_KIND, id, ARCHIVE_FILE) };
}
