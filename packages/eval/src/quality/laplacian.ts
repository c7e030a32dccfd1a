// Gaussian/Laplacian pyramid matching cv2.pyrDown/pyrUp (5-tap binomial filter, mirror borders), as used by the
// sliced Wasserstein distance of Karras et al. (PGAN, ICLR 2018; their sliced_wasserstein.py).

const G = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];

/** scipy.ndimage 'mirror' index: reflect about the edge sample (d c b | a b c d | c b a). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let k = i % period;
  if (k < 0) k += period;
  return k < n ? k : period - k;
}

/** Separable 5-tap blur of an h x w plane with gain `gain` (4 for pyrUp's zero-inserted input). */
function blur(src: Float64Array, h: number, w: number, gain: number): Float64Array {
  const tmp = new Float64Array(h * w);
  const out = new Float64Array(h * w);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -2; k <= 2; k++) s += G[k + 2] * src[y * w + mirror(x + k, w)];
      tmp[y * w + x] = s;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = -2; k <= 2; k++) s += G[k + 2] * tmp[mirror(y + k, h) * w + x];
      out[y * w + x] = s * gain;
    }
  return out;
}

export function pyrDown(src: Float64Array, h: number, w: number): { data: Float64Array; h: number; w: number } {
  const b = blur(src, h, w, 1);
  const h2 = Math.ceil(h / 2);
  const w2 = Math.ceil(w / 2);
  const out = new Float64Array(h2 * w2);
  for (let y = 0; y < h2; y++) for (let x = 0; x < w2; x++) out[y * w2 + x] = b[2 * y * w + 2 * x];
  return { data: out, h: h2, w: w2 };
}

/** Zero-insert upsampling to (h, w) followed by the blur with gain 4. */
export function pyrUp(src: Float64Array, sh: number, sw: number, h: number, w: number): Float64Array {
  const z = new Float64Array(h * w);
  for (let y = 0; y < sh && 2 * y < h; y++)
    for (let x = 0; x < sw && 2 * x < w; x++) z[2 * y * w + 2 * x] = src[y * sw + x];
  // Gain 4: (2 in each axis) restores the energy removed by inserting zeros.
  return blur(z, h, w, 4);
}

export interface PyramidLevel {
  data: Float64Array;
  h: number;
  w: number;
}

/**
 * Laplacian pyramid of one plane: levels[0] is full resolution (band-pass), the last level is the low-pass
 * residual. Levels stop when the next one would be smaller than `minSide` (PGAN: 16).
 */
export function laplacianPyramid(plane: Float64Array, h: number, w: number, minSide = 16): PyramidLevel[] {
  const gauss: PyramidLevel[] = [{ data: plane, h, w }];
  while (Math.min(gauss[gauss.length - 1].h, gauss[gauss.length - 1].w) / 2 >= minSide) {
    const top = gauss[gauss.length - 1];
    gauss.push(pyrDown(top.data, top.h, top.w));
  }
  const lap: PyramidLevel[] = [];
  for (let i = 0; i < gauss.length - 1; i++) {
    const cur = gauss[i];
    const next = gauss[i + 1];
    const up = pyrUp(next.data, next.h, next.w, cur.h, cur.w);
    const d = new Float64Array(cur.h * cur.w);
    for (let p = 0; p < d.length; p++) d[p] = cur.data[p] - up[p];
    lap.push({ data: d, h: cur.h, w: cur.w });
  }
  lap.push(gauss[gauss.length - 1]);
  return lap;
}
