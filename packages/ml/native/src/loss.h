// Fused segmentation loss of one deep-supervision head: CE + (1 - mean soft Dice over classes 1..C-1), softmax over
// the class axis, "batch Dice" (sums over batch and space), with its gradient in the same two passes.
#pragma once

namespace synthmri {
// logits, onehot: [pixels x classes]; writes dlogits [pixels x classes] (dLoss/dlogits) and returns the loss.
float ce_dice_loss(long pixels, long classes, const float* logits, const float* onehot, float smooth, float* dlogits);
}  // namespace synthmri
