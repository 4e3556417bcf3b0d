import * as tf from "@tensorflow/tfjs";

/** Keys and values of past positions, per layer, [B, kvHeads, T, headDim] (after rotary embeddings). */
export class KVCache {
  readonly layers: { k: tf.Tensor4D; v: tf.Tensor4D }[] = [];
  get length(): number {
    return this.layers.length ? this.layers[0].k.shape[2] : 0;
  }
  dispose(): void {
    for (const { k, v } of this.layers) tf.dispose([k, v]);
    this.layers.length = 0;
  }
}
