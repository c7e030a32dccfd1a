// The DDPM noise predictor: a U-Net over [B, r, r, C] conditioned on the timestep (Ho et al. 2020's layout).
// conv_in -> per level: resBlocks x ResBlock (+ attention at low resolution), stride-2 conv down ->
// middle ResBlock, attention, ResBlock -> per level (reversed): resBlocks + 1 ResBlocks on [h, skip] concatenated,
// nearest x2 + conv up -> group norm, SiLU, zero-initialised conv_out.
import { networkChannels } from "../../gan/mask-encoding.js";
import { tf } from "../../backend/tf.js";
import { conv, groupNorm, linear, selfAttention, silu, timestepEmbedding, upsample2x } from "../nn.js";
import type { Scope } from "../scope.js";
import type { DdpmConfig } from "./config.js";

function resBlock(
  s: Scope,
  name: string,
  x: tf.Tensor4D,
  tEmb: tf.Tensor2D,
  cout: number,
  groups: number,
): tf.Tensor4D {
  const b = s.sub(name);
  let h = conv(b, "conv1", silu(groupNorm(b, "norm1", x, groups)), cout);
  const t = linear(b, "temb", silu(tEmb), cout);
  h = tf.add(h, tf.reshape(t, [t.shape[0], 1, 1, cout])) as tf.Tensor4D;
  h = conv(b, "conv2", silu(groupNorm(b, "norm2", h, groups)), cout, { init: "zeros" });
  const skip = x.shape[3] === cout ? x : conv(b, "skip", x, cout, { k: 1 });
  return tf.add(skip, h) as tf.Tensor4D;
}

/** Predicted noise (or v) for noisy images x [B, r, r, C] at integer timesteps t (length B). */
export function unet(s: Scope, c: DdpmConfig, x: tf.Tensor4D, t: ArrayLike<number>): tf.Tensor4D {
  return tf.tidy(() => {
    const ch = c.baseChannels;
    const B = x.shape[0];
    const sinus = tf.tensor2d(timestepEmbedding(t, ch), [B, ch]);
    const tEmb = linear(s, "temb.1", silu(linear(s, "temb.0", sinus, 4 * ch)), 4 * ch);
    const levels = c.channelMults.length;
    const attnAt = (side: number, level: number) => side <= c.attentionMaxSide || level === levels - 1;

    let h = conv(s, "in", x, ch);
    const skips: tf.Tensor4D[] = [h];
    for (let l = 0; l < levels; l++) {
      const cout = ch * c.channelMults[l];
      for (let r = 0; r < c.resBlocks; r++) {
        h = resBlock(s, `down${l}.res${r}`, h, tEmb, cout, c.groups);
        if (attnAt(h.shape[1], l)) h = selfAttention(s, `down${l}.attn${r}`, h, c.groups);
        skips.push(h);
      }
      if (l < levels - 1) {
        h = conv(s, `down${l}.down`, h, cout, { stride: 2, pad: 1 });
        skips.push(h);
      }
    }
    const cmid = h.shape[3];
    h = resBlock(s, "mid.res0", h, tEmb, cmid, c.groups);
    h = selfAttention(s, "mid.attn", h, c.groups);
    h = resBlock(s, "mid.res1", h, tEmb, cmid, c.groups);
    for (let l = levels - 1; l >= 0; l--) {
      const cout = ch * c.channelMults[l];
      for (let r = 0; r <= c.resBlocks; r++) {
        const skip = skips.pop() as tf.Tensor4D;
        h = resBlock(s, `up${l}.res${r}`, tf.concat([h, skip], 3) as tf.Tensor4D, tEmb, cout, c.groups);
        if (attnAt(h.shape[1], l)) h = selfAttention(s, `up${l}.attn${r}`, h, c.groups);
      }
      if (l > 0) h = conv(s, `up${l}.up`, upsample2x(h), cout);
    }
    return conv(s, "out", silu(groupNorm(s, "out.norm", h, c.groups)), networkChannels(c), { init: "zeros" });
  });
}
