import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { GOLDEN_DIR, VARIANTS, maxDiffMasked, readGolden } from "./golden.js";

await selectBackend();

for (const variant of VARIANTS) {
  test(`${variant}: forward logits, argmax and loss match transformers`, async () => {
    const g = readGolden(variant);
    const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, variant, "model"));
    const base = tf.memory().numTensors;
    const { input_ids, attention_mask, position_ids, labels } = g.inputs;

    const logits = model.forward({ inputIds: input_ids, attentionMask: attention_mask, positionIds: position_ids });
    const arr = (await logits.array()) as number[][][];
    const last = tf.tidy(() => logits.slice([0, input_ids[0].length - 1, 0], [-1, 1, -1]).squeeze([1]).argMax(-1));
    const argmax = (await last.array()) as number[];
    last.dispose();
    logits.dispose();
    assert.ok(maxDiffMasked(arr, g.forward.logits, attention_mask) < 1e-4, "logits within 1e-4 where mask is 1");
    assert.deepEqual(argmax, g.forward.last_token_argmax);

    // Position ids derived from the mask by default: the generate() convention.
    const derived = model.forward({ inputIds: input_ids, attentionMask: attention_mask });
    assert.ok(maxDiffMasked((await derived.array()) as number[][][], g.forward.logits, attention_mask) < 1e-4);
    derived.dispose();

    const dflt = model.forward({ inputIds: input_ids, attentionMask: attention_mask, positionIds: g.forward_default_position_ids.position_ids });
    assert.ok(maxDiffMasked((await dflt.array()) as number[][][], g.forward_default_position_ids.logits, attention_mask) < 1e-4, "0..L-1 position ids");
    dflt.dispose();

    const loss = model.loss({ inputIds: input_ids, attentionMask: attention_mask, positionIds: position_ids, labels });
    const l = (await loss.data())[0];
    loss.dispose();
    assert.ok(Math.abs(l - g.forward.loss) < 1e-5, `loss ${l} vs ${g.forward.loss}`);
    assert.equal(tf.memory().numTensors, base, "no tensors leaked by forward and loss");
    model.dispose();
  });
}

test("the golden comparison checks shapes: a truncated or reshaped output fails, not only different values", () => {
  const g = readGolden("tiny-tied");
  const ref = g.forward.logits, mask = g.inputs.attention_mask;
  assert.equal(maxDiffMasked(ref, ref, mask), 0);
  assert.throws(() => maxDiffMasked(ref.map((r) => r.slice(0, -1)), ref, mask), /shape \[2,11,256\] is not the reference's \[2,12,256\]/);
  assert.throws(() => maxDiffMasked(ref.map((r) => r.map((t) => t.slice(0, 10))), ref, mask), /is not the reference's/);
  assert.throws(() => maxDiffMasked([ref[0], ref[1].slice(0, 3)], ref, mask), /output\[1\] is \[3,256\]/);
});
