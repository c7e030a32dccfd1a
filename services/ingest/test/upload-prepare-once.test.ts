// An uploaded subject is decoded, validated, de-identified and sliced once: UploadSubject keeps what
// prepareSubject made (volumes and slices) and ImportDirectory assembles the dataset from it. The dataset is
// the one the earlier way (prepare again from the stored volumes) made, byte for byte.
import { createHash } from "node:crypto";
import { LabelScheme, Modality } from "@synthmri/contracts";
import * as volume from "@synthmri/volume";
import { generatePhantomSubject, phantomSubjectFiles } from "@synthmri/volume";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { PREPARED_FILE } from "../src/domain/upload-session.js";
import { collect, keys, type Rig, startRig } from "./helpers.js";

// Counts prepareSubject calls in the server (same process), passing through to the real one.
vi.mock("@synthmri/volume", async (original) => {
  const real = await original<typeof import("@synthmri/volume")>();
  return { ...real, prepareSubject: vi.fn(real.prepareSubject) };
});
const prepareCalls = () => vi.mocked(volume.prepareSubject).mock.calls.length;

const SUBJECTS = 3;
const MODALITY = { t1: Modality.T1, t1ce: Modality.T1CE, t2: Modality.T2, flair: Modality.FLAIR, seg: Modality.SEG };
let rig: Rig;

beforeAll(async () => {
  rig = await startRig("upload-once");
});
afterAll(async () => {
  await rig?.close();
});

async function upload(i: number, session: string): Promise<string> {
  const p = generatePhantomSubject(i, { size: [32, 32, 16], seed: "11" });
  const reqs: Parameters<Rig["client"]["uploadSubject"]>[0] extends AsyncIterable<infer R> | Iterable<infer R>
    ? R[]
    : never = [
    {
      part: {
        case: "metadata",
        value: { uploadSessionId: session, subjectId: p.id, labelScheme: LabelScheme.BRATS2020 },
      },
    },
  ];
  for (const [name, bytes] of Object.entries(phantomSubjectFiles(p))) {
    const role = name.replace(/^.*_(t1|t1ce|t2|flair|seg)\.nii\.gz$/, "$1") as keyof typeof MODALITY;
    reqs.push({
      part: { case: "file", value: { frame: { case: "header", value: { name, modality: MODALITY[role] } } } },
    });
    reqs.push({ part: { case: "file", value: { frame: { case: "chunk", value: { offset: 0n, data: bytes } } } } });
  }
  return (await rig.client.uploadSubject(reqs)).uploadSessionId;
}

async function importSession(session: string): Promise<string> {
  const msgs = await collect(
    rig.client.importDirectory({
      source: { case: "uploadSessionId", value: session },
      split: { seed: 3, testCount: 1 },
      name: "once",
    }),
  );
  return msgs.at(-1)!.report!.datasetId;
}

/** Every file of a dataset by its path inside the dataset -> sha256, and the manifest's dataset fields. */
async function contents(datasetId: string) {
  const files: Record<string, string> = {};
  for (const key of await keys(rig.store, `dataset/${datasetId}/`)) {
    if (key.endsWith("/manifest.json")) continue;
    files[key.slice(`dataset/${datasetId}/`.length)] = createHash("sha256")
      .update(await rig.store.getBuffer(key))
      .digest("hex");
  }
  const manifest = JSON.parse((await rig.store.getBuffer(`dataset/${datasetId}/manifest.json`)).toString("utf8"));
  const { subjects, shards, sliceCounts, sliceShape, split, preprocessing, maskValues, labelScheme } = manifest;
  return {
    files,
    fields: { subjects, shards, sliceCounts, sliceShape, split, preprocessing, maskValues, labelScheme },
  };
}

describe("upload sessions", () => {
  it("prepare each subject once: UploadSubject prepares, ImportDirectory assembles what it kept", async () => {
    const before = prepareCalls();
    let session = "";
    for (let i = 0; i < SUBJECTS; i++) session = await upload(i, session);
    expect(prepareCalls() - before).toBe(SUBJECTS);
    const prepared = (await keys(rig.store, `uploads/${session}/`)).filter((k) => k.endsWith(`/${PREPARED_FILE}`));
    expect(prepared).toHaveLength(SUBJECTS);

    const once = await importSession(session);
    expect(prepareCalls() - before).toBe(SUBJECTS);

    // A session without prepared slices (stored before they were kept) is prepared again from its volumes:
    // the earlier way. Both datasets are the same, file for file.
    for (const k of prepared) await rig.store.deleteObject(k);
    const twice = await importSession(session);
    expect(prepareCalls() - before).toBe(2 * SUBJECTS);
    const a = await contents(once);
    const b = await contents(twice);
    expect(Object.keys(a.files).length).toBe(SUBJECTS * 5 + a.fields.shards.length);
    expect(a.fields.subjects).toHaveLength(SUBJECTS);
    expect(a.fields.sliceCounts.train + a.fields.sliceCounts.test).toBeGreaterThan(0);
    expect(a).toEqual(b);
  });

  it("prepares again when the import asks for other preprocessing than the upload used", async () => {
    const session = await upload(0, "");
    const before = prepareCalls();
    const msgs = await collect(
      rig.client.importDirectory({
        source: { case: "uploadSessionId", value: session },
        split: { testFraction: 0.01 },
        preprocessing: { size: 0, foregroundThreshold: 20, minForegroundFraction: 0.05 },
      }),
    );
    expect(msgs.at(-1)!.report!.subjectsImported).toBe(1);
    expect(prepareCalls() - before).toBe(1);
  });
});
