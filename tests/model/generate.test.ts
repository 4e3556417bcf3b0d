import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../../src/backend.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DecodeBatch, generate, generateAsync, leftPad, Sequence } from "../../src/model/generate.js";
import { applyPenalties, sampleToken } from "../../src/model/sampling.js";
import { seededRandom } from "../../src/rng.js";
import { GOLDEN_DIR, VARIANTS, readGolden } from "./golden.js";

await selectBackend();

for (const variant of VARIANTS) {
  test(`${variant}: 10 greedy tokens and every KV-cache step's logits match transformers generate()`, async () => {
    const g = readGolden(variant);
    const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, variant, "model"));
    const base = tf.memory().numTensors;
    const steps: Float32Array[][] = [];
    const out = await generateAsync(model, { inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask }, {
      maxNewTokens: 10,
      eosTokenIds: [],
      onLogits: (_, l) => steps.push(l),
    });
    assert.equal(tf.memory().numTensors, base, "no tensors leaked by generate");
    assert.deepEqual(out.newTokens, g.generate.new_tokens);
    assert.deepEqual(out.sequences, g.generate.sequences);
    let maxDiff = 0;
    steps.forEach((rows, s) => rows.forEach((row, b) => row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - g.generate.step_logits[s][b][i]))))));
    assert.ok(maxDiff < 1e-4, `step logits max diff ${maxDiff}`);
    model.dispose();
  });
}

test("KV-cache steps equal the full forward over the whole sequence", async () => {
  const g = readGolden("tiny-tied");
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const steps: Float32Array[][] = [];
  const out = await generateAsync(model, { inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask }, {
    maxNewTokens: 5, eosTokenIds: [], onLogits: (_, l) => steps.push(l),
  });
  const mask = out.sequences.map((r, b) => r.map((_, t) => (t < 12 ? g.inputs.attention_mask[b][t] : 1)));
  const full = model.forward({ inputIds: out.sequences, attentionMask: mask });
  const arr = (await full.array()) as number[][][];
  full.dispose();
  let maxDiff = 0;
  steps.forEach((rows, s) => rows.forEach((row, b) => row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - arr[b][11 + s][i]))))));
  assert.ok(maxDiff < 1e-4, `cached vs full max diff ${maxDiff}`);
  model.dispose();
});

test("generation stops on EOS, on stop strings and at max_new_tokens; streams tokens; sampling is seeded", async () => {
  const g = readGolden("tiny-tied");
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const prompts = g.inputs.input_ids.map((r, b) => r.filter((_, t) => g.inputs.attention_mask[b][t] === 1));
  const batch = leftPad(prompts, 255);
  assert.deepEqual(batch.inputIds, g.inputs.input_ids);
  assert.deepEqual(batch.attentionMask, g.inputs.attention_mask);
  // Row 0's greedy tokens are known from the golden run: make its third token the EOS.
  const eosTok = g.generate.new_tokens[0][2];
  const streamed: number[][] = [[], []];
  const out = await generateAsync(model, batch, { maxNewTokens: 10, eosTokenIds: [eosTok], padTokenId: 255, onToken: (e) => streamed[e.row].push(e.token) });
  assert.deepEqual(out.newTokens[0], g.generate.new_tokens[0].slice(0, g.generate.new_tokens[0].indexOf(eosTok) + 1));
  assert.equal(out.finishReasons[0], "eos");
  assert.deepEqual(streamed, out.newTokens);
  // row 1 runs to its budget unless the golden run shows it producing that token too
  const row1Eos = g.generate.new_tokens[1].indexOf(eosTok);
  assert.deepEqual(out.newTokens[1], row1Eos < 0 ? g.generate.new_tokens[1] : g.generate.new_tokens[1].slice(0, row1Eos + 1));
  assert.equal(out.finishReasons[1], row1Eos < 0 ? "length" : "eos");

  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(65 + (i % 26))).join("");
  const stopAt = decode(g.generate.new_tokens[1].slice(3, 5));
  const s = await generateAsync(model, batch, { maxNewTokens: 10, eosTokenIds: [], stopStrings: [stopAt], decode });
  assert.ok(decode(s.newTokens[1]).includes(stopAt) && s.newTokens[1].length <= 5);
  assert.equal(s.finishReasons[1], "stop");

  const a = await generateAsync(model, batch, { maxNewTokens: 6, eosTokenIds: [], doSample: true, temperature: 1.5, topK: 50, topP: 0.9, seed: 7 });
  const b = await generateAsync(model, batch, { maxNewTokens: 6, eosTokenIds: [], doSample: true, temperature: 1.5, topK: 50, topP: 0.9, seed: 7 });
  assert.deepEqual(a.newTokens, b.newTokens);
  model.dispose();
});

test("top-k and top-p keep the tokens transformers' warpers keep", () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
  const seen = new Set<number>();
  const rnd = seededRandom(1);
  for (let i = 0; i < 400; i++) seen.add(sampleToken(logits, { topP: 0.7 }, rnd));
  assert.deepEqual([...seen].sort(), [0, 1]); // 0.5 < 0.7, 0.5 + 0.3 reaches it
  seen.clear();
  for (let i = 0; i < 400; i++) seen.add(sampleToken(logits, { topK: 3 }, rnd));
  assert.deepEqual([...seen].sort(), [0, 1, 2]);
  assert.equal(sampleToken(logits, { topK: 1 }, rnd), 0);
  // Ties at the k-th value are all kept, as TopKLogitsWarper keeps scores >= the k-th largest.
  seen.clear();
  for (let i = 0; i < 400; i++) seen.add(sampleToken([0, 1, 1, 1, -5], { topK: 2 }, rnd));
  assert.deepEqual([...seen].sort(), [1, 2, 3]);
  // Temperature is applied before top-p: a low temperature sharpens the distribution so top-p keeps one token.
  seen.clear();
  for (let i = 0; i < 200; i++) seen.add(sampleToken(logits, { temperature: 0.1, topP: 0.9 }, rnd));
  assert.deepEqual([...seen], [0]);
});

/** transformers' TopKLogitsWarper then TopPLogitsWarper, transcribed literally: the set of tokens left. */
function hfAllowed(logits: number[], topK: number | undefined, topP: number | undefined): Set<number> {
  let scores = logits.slice();
  if (topK !== undefined) {
    const kth = [...scores].sort((a, b) => b - a)[topK - 1];
    scores = scores.map((s) => (s < kth ? -Infinity : s));
  }
  if (topP !== undefined) {
    const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]); // ascending
    const max = Math.max(...scores);
    const e = order.map((i) => Math.exp(scores[i] - max));
    const z = e.reduce((a, b) => a + b, 0);
    let cum = 0;
    const remove = e.map((v) => (cum += v / z) <= 1 - topP);
    remove[remove.length - 1] = false; // min_tokens_to_keep = 1
    order.forEach((i, j) => { if (remove[j]) scores[i] = -Infinity; });
  }
  return new Set(scores.flatMap((s, i) => (s === -Infinity ? [] : [i])));
}

test("sampling draws only tokens transformers' top-k/top-p warpers keep, on a large vocabulary", () => {
  const rnd = seededRandom(5);
  const V = 5000;
  const peaked = Array.from({ length: V }, (_, i) => (i % 97 === 0 ? 6 : 0) + 3 * rnd());
  const flat = Array.from({ length: V }, () => 0.01 * rnd());
  for (const logits of [peaked, flat]) {
    for (const [topK, topP] of [[undefined, 0.9], [40, undefined], [40, 0.5], [undefined, 0.3]] as const) {
      const allowed = hfAllowed(logits, topK, topP);
      for (let i = 0; i < 200; i++) {
        const t = sampleToken(logits, { topK, topP }, rnd);
        assert.ok(allowed.has(t), `token ${t} outside transformers' set (topK ${topK}, topP ${topP})`);
      }
    }
  }
});

test("generate (synchronous reads) gives generateAsync's tokens; on WebGPU it says to use generateAsync", async () => {
  const g = readGolden("tiny-tied");
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const input = { inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask };
  const base = tf.memory().numTensors;
  if (tf.getBackend() === "webgpu") {
    assert.throws(() => generate(model, input, { maxNewTokens: 3, eosTokenIds: [] }), /synchronous read .* use the async/);
  } else {
    assert.deepEqual(generate(model, input, { maxNewTokens: 10, eosTokenIds: [] }).newTokens, g.generate.new_tokens);
  }
  assert.equal(tf.memory().numTensors, base, "no tensors leaked, even when a read fails");
  model.dispose();
});

test("chunked prefill: every chunk size gives transformers' tokens and step logits, left padding included", async () => {
  const g = readGolden("tiny-tied");
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const base = tf.memory().numTensors;
  const L = g.inputs.input_ids[0].length;
  for (const chunk of [1, 2, 5, L - 1, L, L + 1, Infinity]) {
    const steps: Float32Array[][] = [];
    const out = await generateAsync(model, { inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask }, {
      maxNewTokens: 10, eosTokenIds: [], prefillChunk: chunk, onLogits: (_, l) => steps.push(l),
    });
    assert.deepEqual(out.newTokens, g.generate.new_tokens, `chunk ${chunk}`);
    let maxDiff = 0;
    steps.forEach((rows, s) => rows.forEach((row, b) => row.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - g.generate.step_logits[s][b][i]))))));
    assert.ok(maxDiff < 1e-4, `chunk ${chunk}: step logits max diff ${maxDiff}`);
  }
  assert.equal(tf.memory().numTensors, base, "no tensors leaked");
  model.dispose();
});

test("per-row sampling: a seeded row draws the same tokens alone and beside other rows; unseeded rows draw fresh ones", async () => {
  const g = readGolden("tiny-tied");
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const prompts = g.inputs.input_ids.map((r, b) => r.filter((_, t) => g.inputs.attention_mask[b][t] === 1));
  const seeded = { temperature: 1.5, topK: 50, topP: 0.95, seed: 11 };
  const alone = await generateAsync(model, leftPad([prompts[0]], 255), { maxNewTokens: 12, eosTokenIds: [], padTokenId: 255, rows: [seeded] });
  const beside = await generateAsync(model, leftPad([prompts[1], prompts[0], prompts[0]], 255), {
    maxNewTokens: 12, eosTokenIds: [], padTokenId: 255, rows: [{ temperature: 0.7, seed: 1 }, { temperature: 0 }, seeded],
  });
  assert.deepEqual(beside.newTokens[2], alone.newTokens[0], "same seed, same tokens, whatever else is in the batch");
  assert.deepEqual(beside.newTokens[1], g.generate.new_tokens[0].concat(beside.newTokens[1].slice(10)).slice(0, 12), "a greedy row beside sampled ones is greedy");
  const draws = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const r = await generateAsync(model, leftPad([prompts[0]], 255), { maxNewTokens: 12, eosTokenIds: [], padTokenId: 255, rows: [{ temperature: 1.5 }] });
    draws.add(r.newTokens[0].join(","));
  }
  assert.ok(draws.size > 1, "four unseeded draws are not all the same");
  model.dispose();
});

test("decode batches merge and shed rows without changing any row's tokens", async () => {
  const g = readGolden("tiny-tied");
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const base = tf.memory().numTensors;
  const prompts = g.inputs.input_ids.map((r, b) => r.filter((_, t) => g.inputs.attention_mask[b][t] === 1));
  const seq = (b: number) => new Sequence(prompts[b], { maxNewTokens: 10, eosTokenIds: [] }, Math.random);
  // (asynchronous reads: the test also runs on webgpu)
  const read = async (t: tf.Tensor) => { const d = (await t.data()) as Float32Array; t.dispose(); return d; };
  // Row 1 alone first, for three tokens; then row 0 (a longer prompt) joins; then row 1 leaves early.
  const one = new DecodeBatch(model, [seq(1)], { inputIds: [prompts[1]] }, 255);
  assert.equal(one.prefill(4), null, "a chunk before the prompt's end gives no logits");
  one.advance(await read(one.prefill(100)!));
  for (let i = 0; i < 2; i++) one.advance(await read(one.step()));
  const zero = new DecodeBatch(model, [seq(0)], { inputIds: [prompts[0]] }, 255);
  zero.advance(await read(zero.prefill(100)!));
  one.absorb(zero);
  for (let i = 0; i < 4; i++) one.advance(await read(one.step()));
  const rowOne = one.rows[0];
  one.keep([1]);
  while (one.rows[0].finishReason === null) one.advance(await read(one.step()));
  assert.deepEqual(rowOne.newTokens, g.generate.new_tokens[1].slice(0, 7));
  assert.deepEqual(one.rows[0].newTokens, g.generate.new_tokens[0]);
  assert.equal(one.length, prompts[0].length + 9, "the cache lost the columns only row 1 needed");
  one.dispose();
  assert.equal(tf.memory().numTensors, base, "no tensors leaked");
  model.dispose();
});

const processors = JSON.parse(readFileSync(fileURLToPath(new URL("../fixtures/sampling/processors.json", import.meta.url)), "utf8")) as {
  logits: number[]; input_ids: number[]; cases: { repetition_penalty?: number; scores?: number[]; temperature?: number; min_p?: number; kept?: number[] }[];
};

test("repetition penalty and min-p as transformers' RepetitionPenaltyLogitsProcessor and MinPLogitsWarper compute them", () => {
  for (const c of processors.cases) {
    if (c.repetition_penalty !== undefined) {
      const row = Float32Array.from(processors.logits);
      applyPenalties(row, processors.input_ids, new Map(), { repetitionPenalty: c.repetition_penalty });
      row.forEach((v, i) => assert.ok(Math.abs(v - c.scores![i]) < 1e-6, `penalty ${c.repetition_penalty}, token ${i}: ${v} vs ${c.scores![i]}`));
    } else {
      const seen = new Set<number>();
      const rnd = seededRandom(3);
      for (let i = 0; i < 3000; i++) seen.add(sampleToken(processors.logits, { temperature: c.temperature, minP: c.min_p }, rnd));
      assert.deepEqual([...seen].sort((a, b) => a - b), c.kept, `temperature ${c.temperature}, min_p ${c.min_p}`);
    }
  }
  // vLLM's frequency and presence penalties: logit -= frequency · count + presence · [count > 0], over the output only.
  const row = new Float32Array([1, 1, 1, 1]);
  applyPenalties(row, [0], new Map([[1, 3], [2, 1]]), { frequencyPenalty: 0.5, presencePenalty: 0.25 });
  assert.deepEqual([...row], [1, 1 - 1.5 - 0.25, 1 - 0.5 - 0.25, 1]);
});

test("min_tokens masks EOS and holds back stop strings until reached; ignore_eos runs to the budget", async () => {
  const g = readGolden("tiny-tied");
  const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, "tiny-tied", "model"));
  const greedy = g.generate.new_tokens[0];
  const at = greedy.findIndex((t, i) => i >= 2 && !greedy.slice(0, i).includes(t));
  const eosTok = greedy[at];
  const input = { inputIds: [g.inputs.input_ids[0]], attentionMask: [g.inputs.attention_mask[0]] };
  const plain = await generateAsync(model, input, { maxNewTokens: 10, eosTokenIds: [eosTok], rows: [{}] });
  assert.deepEqual(plain.newTokens[0], greedy.slice(0, at + 1));
  const ignored = await generateAsync(model, input, { maxNewTokens: 10, eosTokenIds: [eosTok], rows: [{ ignoreEos: true }] });
  assert.deepEqual(ignored.newTokens[0], greedy, "EOS produced, not obeyed");
  assert.equal(ignored.finishReasons[0], "length");
  const min = await generateAsync(model, input, { maxNewTokens: 10, eosTokenIds: [eosTok], rows: [{ minTokens: at + 3 }] });
  assert.ok(min.newTokens[0].length >= at + 3 && !min.newTokens[0].slice(0, at + 3).includes(eosTok), `EOS masked for ${at + 3} tokens: ${min.newTokens[0]}`);

  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(65 + (i % 26))).join("");
  const stop = decode(greedy.slice(1, 2));
  const early = await generateAsync(model, input, { maxNewTokens: 10, eosTokenIds: [], decode, rows: [{ stopStrings: [stop] }] });
  assert.equal(early.finishReasons[0], "stop");
  assert.equal(early.newTokens[0].length, 2);
  const late = await generateAsync(model, input, { maxNewTokens: 10, eosTokenIds: [], decode, rows: [{ stopStrings: [stop], minTokens: 4 }] });
  const after = decode(greedy).indexOf(stop, decode(greedy.slice(0, 4)).length - stop.length + 1);
  assert.equal(late.finishReasons[0], after >= 0 ? "stop" : "length", "a stop string inside the first min_tokens tokens does not count");
  assert.ok(late.newTokens[0].length >= 4);
  model.dispose();
});
