// Interpolation helpers for the geometric transforms: pixel centres at integer coordinates, zero outside.

/** Bilinear sample of channel c of an HWC image at (y, x); 0 outside the image. */
export function bilinear(
  img: Float32Array,
  h: number,
  w: number,
  channels: number,
  c: number,
  y: number,
  x: number,
): number {
  const y0 = Math.floor(y);
  const x0 = Math.floor(x);
  const fy = y - y0;
  const fx = x - x0;
  let v = 0;
  for (let dy = 0; dy < 2; dy++) {
    const yy = y0 + dy;
    if (yy < 0 || yy >= h) continue;
    const wy = dy === 0 ? 1 - fy : fy;
    for (let dx = 0; dx < 2; dx++) {
      const xx = x0 + dx;
      if (xx < 0 || xx >= w) continue;
      const wx = dx === 0 ? 1 - fx : fx;
      v += wy * wx * img[(yy * w + xx) * channels + c];
    }
  }
  return v;
}

/** Resize an HWC image with bilinear interpolation (align-corners=false convention). */
export function resizeBilinear(
  img: Float32Array,
  h: number,
  w: number,
  channels: number,
  oh: number,
  ow: number,
): Float32Array {
  const out = new Float32Array(oh * ow * channels);
  const sy = h / oh;
  const sx = w / ow;
  for (let y = 0; y < oh; y++) {
    const srcY = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    for (let x = 0; x < ow; x++) {
      const srcX = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      for (let c = 0; c < channels; c++)
        out[(y * ow + x) * channels + c] = bilinear(img, h, w, channels, c, srcY, srcX);
    }
  }
  return out;
}

/** Resize an HWC image with nearest-neighbour sampling. */
export function resizeNearest(
  img: Float32Array,
  h: number,
  w: number,
  channels: number,
  oh: number,
  ow: number,
): Float32Array {
  const out = new Float32Array(oh * ow * channels);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(Math.floor(((y + 0.5) * h) / oh), h - 1);
    for (let x = 0; x < ow; x++) {
      const sx = Math.min(Math.floor(((x + 0.5) * w) / ow), w - 1);
      for (let c = 0; c < channels; c++) out[(y * ow + x) * channels + c] = img[(sy * w + sx) * channels + c];
    }
  }
  return out;
}
