// Adversarial losses per family. All take D's raw scores ([n,1]) and return scalars.
import { tf } from "./tf.js";

export type LossKind = "wgan-gp" | "non-saturating" | "least-squares" | "hinge";

/** Discriminator loss without the gradient penalty (added by the caller for wgan-gp). */
export function discriminatorLoss(kind: LossKind, dReal: tf.Tensor, dFake: tf.Tensor, driftEpsilon: number): tf.Scalar {
  switch (kind) {
    case "wgan-gp":
      // PGAN: E[D(fake)] - E[D(real)] + eps * E[D(real)^2] (drift keeps the critic's output near zero).
      return dFake.mean().sub(dReal.mean()).add(dReal.square().mean().mul(driftEpsilon)) as tf.Scalar;
    case "non-saturating":
      // -log sigmoid(D(real)) - log(1 - sigmoid(D(fake))) = softplus(-D(real)) + softplus(D(fake)).
      return tf.softplus(dReal.neg()).mean().add(tf.softplus(dFake).mean()) as tf.Scalar;
    case "least-squares":
      return dReal.sub(1).square().mean().add(dFake.square().mean()).mul(0.5) as tf.Scalar;
    case "hinge":
      return tf
        .relu(tf.sub(1, dReal))
        .mean()
        .add(tf.relu(dFake.add(1)).mean()) as tf.Scalar;
  }
}

export function generatorLoss(kind: LossKind, dFake: tf.Tensor): tf.Scalar {
  switch (kind) {
    case "wgan-gp":
    case "hinge":
      return dFake.mean().neg() as tf.Scalar;
    case "non-saturating":
      return tf.softplus(dFake.neg()).mean() as tf.Scalar;
    case "least-squares":
      return dFake.sub(1).square().mean().mul(0.5) as tf.Scalar;
  }
}

/**
 * WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] at x_hat = real + u (fake - real), u per sample in [0,1).
 * Call inside `tf.variableGrads`: the nested `tf.grad` is differentiated again w.r.t. D's weights, which is
 * why D must be built only from second-order-safe ops (see ops.ts).
 */
export function gradientPenalty(
  discriminate: (x: tf.Tensor4D) => tf.Tensor,
  real: tf.Tensor4D,
  fake: tf.Tensor4D,
  u: Float32Array,
): tf.Scalar {
  const n = real.shape[0];
  const t = tf.tensor(u, [n, 1, 1, 1]);
  const xHat = real.add(fake.sub(real).mul(t)) as tf.Tensor4D;
  const g = tf.grad((x: tf.Tensor) => discriminate(x as tf.Tensor4D).sum())(xHat);
  // + 1e-12: sqrt's gradient is infinite at 0.
  const norm = g.square().sum([1, 2, 3]).add(1e-12).sqrt();
  return norm.sub(1).square().mean() as tf.Scalar;
}
