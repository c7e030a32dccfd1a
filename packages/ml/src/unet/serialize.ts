// One self-describing byte string per model: "SMUNET01", u32 LE header length, UTF-8 JSON header
// ({ config, index }), then the little-endian float32 weights. Loading rebuilds the net from the config,
// so a stored model needs nothing else to be served.
import { InvalidInput } from "@synthmri/core";
import type { BlobIndex } from "../layers/tensor-blob.js";
import type { UNetConfig } from "./config.js";
import { UNet } from "./model.js";

const MAGIC = "SMUNET01";

/** Frames a JSON header and a binary payload (also used for training state). */
export function frame(magic: string, header: unknown, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(magic.length + 4 + json.length + payload.length);
  out.set(new TextEncoder().encode(magic), 0);
  new DataView(out.buffer).setUint32(magic.length, json.length, true);
  out.set(json, magic.length + 4);
  out.set(payload, magic.length + 4 + json.length);
  return out;
}

export function unframe<H>(magic: string, bytes: Uint8Array, what: string): { header: H; payload: Uint8Array } {
  const head = new TextDecoder().decode(bytes.subarray(0, magic.length));
  if (bytes.length < magic.length + 4 || head !== magic)
    throw new InvalidInput(
      `${what}: not a ${magic} file (starts with ${JSON.stringify(head)}); was it written by this version?`,
    );
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(magic.length, true);
  const start = magic.length + 4;
  if (start + n > bytes.length)
    throw new InvalidInput(`${what}: header of ${n} bytes runs past the end (${bytes.length} bytes): truncated file`);
  let header: H;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + n))) as H;
  } catch (e) {
    throw new InvalidInput(`${what}: header is not valid JSON`, { cause: e });
  }
  return { header, payload: bytes.subarray(start + n) };
}

interface ModelHeader {
  config: UNetConfig;
  index: BlobIndex;
}

/** Config + weights as bytes; `loadUNet(saveUNet(m))` computes bit-identical outputs. */
export function saveUNet(model: UNet): Uint8Array {
  const { index, data } = model.params.toBytes();
  return frame(MAGIC, { config: model.config, index } satisfies ModelHeader, data);
}

export function loadUNet(bytes: Uint8Array): UNet {
  const { header, payload } = unframe<ModelHeader>(MAGIC, bytes, "U-Net model");
  const model = new UNet(header.config, 0);
  try {
    model.params.fromBytes(header.index, payload);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** Replaces the weights of `model` with those in `bytes` (same architecture required). */
export function loadUNetWeightsInto(model: UNet, bytes: Uint8Array): void {
  const { header, payload } = unframe<ModelHeader>(MAGIC, bytes, "U-Net model");
  if (JSON.stringify(header.config.widths) !== JSON.stringify(model.config.widths))
    throw new InvalidInput(
      `U-Net weights are for widths [${header.config.widths}], model has [${model.config.widths}]`,
    );
  model.params.fromBytes(header.index, payload);
}
