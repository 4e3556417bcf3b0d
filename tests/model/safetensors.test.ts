import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selectBackend } from "../../src/backend.js";
import { SafetensorsCheckpoint, SafetensorsFile, writeSafetensors, type TensorToWrite } from "../../src/model/safetensors.js";
import { bf16ToF32, f16ToF32, f32ToBf16 } from "../../src/model/half.js";
import { Qwen2Model } from "../../src/model/qwen2.js";
import { saveQwen2Model } from "../../src/model/save.js";
import { GOLDEN_DIR, maxDiffMasked, readGolden } from "./golden.js";

await selectBackend();
const TIED = join(GOLDEN_DIR, "tiny-tied", "model");

async function withTmp(fn: (dir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), "openr1-st-"));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A raw safetensors file from a header object and a data section. */
function rawFile(header: unknown, data: Buffer): Buffer {
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, data]);
}

test("half-precision conversions follow IEEE-754 and torch's round-to-nearest-even bfloat16", () => {
  assert.deepEqual([...f16ToF32(Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0xfc00]))], [1, -2, 65504, 2 ** -24, 0.333251953125, -Infinity]);
  assert.deepEqual([...f32ToBf16(Float32Array.from([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.140625, 1e-40]))], [0x3f80, 0x3f80, 0x3f82, 0xc049, 0x0001]);
  assert.deepEqual([...bf16ToF32(Uint16Array.from([0x3f80, 0xc049]))], [1, -3.140625]);
});

test("the golden BF16 checkpoint's header is read and validated", async () => {
  const f = await SafetensorsFile.open(join(GOLDEN_DIR, "tiny-tied-bf16", "model", "model.safetensors"));
  assert.deepEqual(f.tensors.get("model.embed_tokens.weight")!.shape, [256, 64]);
  assert.equal(f.tensors.get("model.embed_tokens.weight")!.dtype, "BF16");
  assert.equal((await f.readF32("model.norm.weight")).length, 64);
  await f.close();
});

test("a sharded checkpoint (model.safetensors.index.json) loads to the same logits", async () => {
  await withTmp(async (dir) => {
    const src = await SafetensorsFile.open(join(TIED, "model.safetensors"));
    const shards = [new Map<string, TensorToWrite>(), new Map<string, TensorToWrite>()];
    const weightMap: Record<string, string> = {};
    let i = 0;
    for (const [name, info] of src.tensors) {
      const s = i++ % 2;
      shards[s].set(name, { shape: info.shape, data: await src.readF32(name) });
      weightMap[name] = `model-0000${s + 1}-of-00002.safetensors`;
    }
    await src.close();
    await writeSafetensors(join(dir, "model-00001-of-00002.safetensors"), shards[0]);
    await writeSafetensors(join(dir, "model-00002-of-00002.safetensors"), shards[1]);
    await writeFile(join(dir, "model.safetensors.index.json"), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    await copyFile(join(TIED, "config.json"), join(dir, "config.json"));
    const model = await Qwen2Model.fromDirectory(dir);
    const g = readGolden("tiny-tied");
    const logits = model.forward({ inputIds: g.inputs.input_ids, attentionMask: g.inputs.attention_mask });
    assert.ok(maxDiffMasked((await logits.array()) as number[][][], g.forward.logits, g.inputs.attention_mask) < 1e-4);
    logits.dispose();
    model.dispose();
  });
});

test("BF16 writing rounds like torch and reads back; F32 round-trips exactly", async () => {
  await withTmp(async (dir) => {
    const data = Float32Array.from([1, 1 + 2 ** -8, 1 + 3 * 2 ** -8, -3.140625, 0.1]);
    await writeSafetensors(join(dir, "a.safetensors"), new Map([["x", { shape: [5], data }]]), { dtype: "BF16" });
    await writeSafetensors(join(dir, "b.safetensors"), new Map([["x", { shape: [5], data }]]), { dtype: "F32" });
    const a = await SafetensorsFile.open(join(dir, "a.safetensors"));
    assert.deepEqual([...(await a.readF32("x"))], [1, 1, 1.015625, -3.140625, 0.10009765625]);
    const b = await SafetensorsFile.open(join(dir, "b.safetensors"));
    assert.deepEqual(await b.readF32("x"), data);
    const bytes = await readFile(join(dir, "b.safetensors"));
    assert.equal(Number(bytes.readBigUInt64LE(0)) % 8, 0, "header padded to 8 bytes");
    await Promise.all([a.close(), b.close()]);
  });
});

test("corrupt, truncated and mismatched files give errors that name the file and the problem", async () => {
  await withTmp(async (dir) => {
    const good = await readFile(join(TIED, "model.safetensors"));
    const cases: [string, Buffer, RegExp][] = [
      ["truncated.safetensors", good.subarray(0, good.length - 100), /truncated/],
      ["tiny.safetensors", good.subarray(0, 5), /truncated/],
      ["hugeheader.safetensors", Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0]), Buffer.alloc(16)]), /header length/],
      ["notjson.safetensors", rawFile("x", Buffer.alloc(0)).fill(0x7b, 8), /not JSON/],
      ["dtype.safetensors", rawFile({ x: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)), /dtype "I64"/],
      ["span.safetensors", rawFile({ x: { dtype: "F32", shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)), /spans 8 bytes/],
      ["overlap.safetensors", rawFile({ x: { dtype: "F32", shape: [2], data_offsets: [0, 8] }, y: { dtype: "F32", shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12)), /overlap/],
    ];
    for (const [name, bytes, re] of cases) {
      const p = join(dir, name);
      await writeFile(p, bytes);
      await assert.rejects(SafetensorsFile.open(p), (e: Error) => e.message.includes(p) && re.test(e.message), name);
    }
    // A checkpoint whose shapes disagree with config.json.
    await copyFile(join(TIED, "model.safetensors"), join(dir, "model.safetensors"));
    const cfg = JSON.parse(await readFile(join(TIED, "config.json"), "utf8"));
    await writeFile(join(dir, "config.json"), JSON.stringify({ ...cfg, intermediate_size: 96 }));
    await assert.rejects(Qwen2Model.fromDirectory(dir), /mlp\.gate_proj\.weight" has shape \[128,64\] but config\.json implies \[96,64\]/);
    await writeFile(join(dir, "config.json"), JSON.stringify({ ...cfg, num_hidden_layers: 3 }));
    await assert.rejects(Qwen2Model.fromDirectory(dir), /missing tensor "model\.layers\.2\./);
    await assert.rejects(SafetensorsCheckpoint.openDir(join(dir, "nope")), /cannot open safetensors file/);
  });
});

test("loading a reference checkpoint and saving it in its dtype reproduces the reference file byte for byte", async () => {
  await withTmp(async (dir) => {
    for (const [variant, dtype] of [["tiny-tied", "F32"], ["tiny-untied", "F32"], ["tiny-tied-bf16", "BF16"]] as const) {
      const model = await Qwen2Model.fromDirectory(join(GOLDEN_DIR, variant, "model"));
      await saveQwen2Model(model, join(dir, variant), { dtype });
      model.dispose();
      const ours = await readFile(join(dir, variant, "model.safetensors"));
      const ref = await readFile(join(GOLDEN_DIR, variant, "model", "model.safetensors"));
      assert.ok(ours.equals(ref), `${variant}: model.safetensors differs from the reference serializer's`);
    }
  });
});
