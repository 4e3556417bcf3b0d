import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../src/backend.js";
import { LoraModel } from "../src/model/lora.js";
import { QWEN25_05B_SHAPE, randomQwen2Model } from "../src/model/random.js";
import { executionFromEnv, setExecutionDefaults } from "../src/model/execution-options.js";
setExecutionDefaults(executionFromEnv(process.env));
await selectBackend();
const seq = Number(process.argv[2] ?? 1024);
const mb = (b: number) => Math.round(b / 2 ** 20);
const heap = () => mb(((tf.backend() as any).wasm?.HEAPU8?.buffer?.byteLength) ?? 0);
const rss = () => mb(process.memoryUsage().rss);
const log = (what: string) => console.log(`${what}: rss ${rss()} MiB, wasm heap ${heap()} MiB, tensors ${tf.memory().numTensors}, maxrss ${mb(process.resourceUsage().maxRSS * 1024)}`);
log("start");
const base = randomQwen2Model(QWEN25_05B_SHAPE);
log("model");
const lora = LoraModel.create(base, { r: 16, alpha: 32, dropout: 0.05 });
const ids = Array.from({ length: seq }, (_, i) => (i * 7919) % 151000);
const input = { inputIds: [ids], labels: [ids.map((x, t) => (t < 16 ? -100 : x))] };
for (let step = 0; step < Number(process.argv[3] ?? 2); step++) {
  const t0 = performance.now();
  const { value, grads } = tf.variableGrads(() => base.sumLoss(input, { training: true, dropoutSeed: step }).sum, [...lora.trainableVariables().values()]);
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads)]);
  log(`step ${step} loss ${(loss / seq).toFixed(3)} ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
