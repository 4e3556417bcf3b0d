import type { Qwen2Config } from "./config.js";

export interface ModuleParameters {
  module: string;
  shape: string;
  count: number;
  /** How many times the module repeats (once per layer for the decoder layers). */
  repeats: number;
}

/** Parameter counts per module of a Qwen2 model, and the total (a tied LM head counted once, like torch). */
export function countParameters(c: Qwen2Config): { modules: ModuleParameters[]; total: number } {
  const H = c.hiddenSize, I = c.intermediateSize, kv = c.numKeyValueHeads * c.headDim, L = c.numHiddenLayers;
  const modules: ModuleParameters[] = [
    { module: "embed_tokens", shape: `${c.vocabSize}×${H}`, count: c.vocabSize * H, repeats: 1 },
    { module: "self_attn.q_proj (+bias)", shape: `${H}×${H}`, count: H * H + H, repeats: L },
    { module: "self_attn.k_proj (+bias)", shape: `${kv}×${H}`, count: kv * H + kv, repeats: L },
    { module: "self_attn.v_proj (+bias)", shape: `${kv}×${H}`, count: kv * H + kv, repeats: L },
    { module: "self_attn.o_proj", shape: `${H}×${H}`, count: H * H, repeats: L },
    { module: "mlp.gate_proj", shape: `${I}×${H}`, count: I * H, repeats: L },
    { module: "mlp.up_proj", shape: `${I}×${H}`, count: I * H, repeats: L },
    { module: "mlp.down_proj", shape: `${H}×${I}`, count: H * I, repeats: L },
    { module: "input_layernorm + post_attention_layernorm", shape: `2×${H}`, count: 2 * H, repeats: L },
    { module: "norm", shape: `${H}`, count: H, repeats: 1 },
    { module: c.tieWordEmbeddings ? "lm_head (tied to embed_tokens)" : "lm_head", shape: `${c.vocabSize}×${H}`, count: c.tieWordEmbeddings ? 0 : c.vocabSize * H, repeats: 1 },
  ];
  return { modules, total: modules.reduce((s, m) => s + m.count * m.repeats, 0) };
}

/** The per-module counts as an HTML table (for notebooks). */
export function parameterTableHtml(c: Qwen2Config): string {
  const { modules, total } = countParameters(c);
  const fmt = (n: number) => n.toLocaleString("en-US");
  const rows = modules
    .map((m) => `<tr><td>${m.module}</td><td>${m.shape}</td><td style="text-align:right">${fmt(m.count)}</td><td style="text-align:right">×${m.repeats}</td><td style="text-align:right">${fmt(m.count * m.repeats)}</td><td style="text-align:right">${((100 * m.count * m.repeats) / total).toFixed(2)}%</td></tr>`)
    .join("");
  return `<table><thead><tr><th>module</th><th>shape</th><th>params</th><th>repeats</th><th>total</th><th>share</th></tr></thead><tbody>${rows}<tr><td><b>total</b></td><td></td><td></td><td></td><td style="text-align:right"><b>${fmt(total)}</b></td><td></td></tr></tbody></table>`;
}
