// Qwen2 in TensorFlow.js: loading Hugging Face checkpoints, forward, generation, LoRA.
export { parseQwen2Config, readQwen2Config, expectedWeightShapes, configForSaving, KNOWN_ROPE_TYPES } from "./config.js";
export type { Qwen2Config } from "./config.js";
export { SafetensorsFile, SafetensorsCheckpoint, writeSafetensors } from "./safetensors.js";
export type { SafetensorsDtype, TensorInfo, TensorToWrite } from "./safetensors.js";
export { Qwen2Model, KVCache } from "./qwen2.js";
export type { ForwardInput, ForwardOptions, LinearAdapter } from "./qwen2.js";
export { positionIdsFromMask } from "./ops.js";
export { generate, generateAsync, leftPad, DecodeBatch, Sequence, DEFAULT_PREFILL_CHUNK } from "./generate.js";
export type { GenerateOptions, GenerateResult, FinishReason, RowSampling, SequenceSettings } from "./generate.js";
export { sampleToken, argmax, applyPenalties } from "./sampling.js";
export { seededRandom } from "../rng.js";
export type { SamplingOptions, PenaltyOptions } from "./sampling.js";
export { LoraModel, loraSettings, DEFAULT_LORA_CONFIG, resolveLoraConfig, loraScaling, peftTensorName, peftAdapterConfig, loraConfigFromPeft } from "./lora.js";
export type { LoraConfig, TrainableParameterReport } from "./lora.js";
export { countParameters, parameterTableHtml } from "./params.js";
export type { ModuleParameters } from "./params.js";
export { saveQwen2Model } from "./save.js";
export type { SaveModelOptions } from "./save.js";
export { loadQwen2Model, resolveModelDir, baseModelReference, DEFAULT_MODEL_REPO, DEFAULT_MODEL_REVISION, TINY_MATH_MODEL, TINY_MATH_MODEL_DIR } from "./load.js";
export type { ModelSourceOptions } from "./load.js";
export {
  createRandomQwen2,
  ensureRandomQwen2,
  randomModelCacheDir,
  SMALL_RANDOM_QWEN2,
  QWEN25_05B_SHAPE,
  QWEN25_ENDOFTEXT_ID,
  QWEN25_IM_END_ID,
} from "./random.js";
export type { RandomQwen2Options } from "./random.js";
export { LINEAR_NAMES } from "./weights.js";
export type { LinearName } from "./weights.js";
export { FullModel } from "./full.js";
