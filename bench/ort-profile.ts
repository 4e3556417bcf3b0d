/**
 * Where a decoder layer's time goes, from ONNX Runtime's own per-node traces (startOrtProfiling): the attention
 * (its nodes are named attention_tile/…, in a Loop body or not: scores, masks, softmax, the products with K and V
 * and their gradients), the other matrix products (the linears and their LoRA adapters), and the rest of the layer
 * (norms, rotary embeddings, SwiGLU, residuals, element-wise gradients).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface TraceEvent {
  cat: string;
  name: string;
  dur: number;
  args?: { op_name?: string };
}

const PRODUCTS = new Set(["MatMul", "FusedMatMul", "Gemm"]);

/** Microseconds by part, over every trace file in `dir`. */
export function summariseOrtTraces(dir: string): Record<string, number> {
  const parts: Record<string, number> = { "attention": 0, "matrix products": 0, "other layer ops": 0, "LM head + cross-entropy": 0 };
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".json"))) {
    const events = JSON.parse(readFileSync(join(dir, file), "utf8")) as TraceEvent[];
    const head = events.some((e) => e.cat === "Node" && e.args?.op_name === "LogSoftmax");
    for (const e of events) {
      if (e.cat !== "Node" || !e.name.endsWith("_kernel_time")) continue;
      const op = e.args?.op_name ?? "";
      // (a Loop node's time includes its body's nodes, counted one by one)
      if (op === "Loop") continue;
      if (head) parts["LM head + cross-entropy"] += e.dur;
      else if (e.name.startsWith("attention_tile/")) parts["attention"] += e.dur;
      else if (PRODUCTS.has(op)) parts["matrix products"] += e.dur;
      else parts["other layer ops"] += e.dur;
    }
  }
  return parts;
}
