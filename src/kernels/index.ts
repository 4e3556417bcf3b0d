export { FEW_ROWS, FrozenLinear, type FrozenLinearOptions, type LazyWeight, type WeightData, type WeightLayout, type KernelEngine } from "./frozen-linear.js";
export { ortAvailable, ortUnavailableReason, ortThreads, setOrtThreads, OrtSession, startOrtProfiling, endOrtProfiling, ortRunTimes, resetOrtRunTimes } from "./ort.js";
export { installOrtMatMul, uninstallOrtMatMul, ortMatMulActive, ortMatMul, ortMatMulStats, type OrtMatMulOptions } from "./matmul.js";
export { frozenLinearFor, frozenConcatFor } from "./frozen-cache.js";
export { releaseWeightCache, weightCacheSize } from "./weight-cache.js";
export { LmHeadCrossEntropy, lmHeadCrossEntropyFor } from "./lm-head-ce.js";
export { LoraLayerKernel, loraLayerKernelFor, type LayerShape, type LoraSpec, type LoraLayerInputs, type LayerInferenceInputs } from "./lora-layer.js";
export { MASK } from "./lora-layer-graph.js";
export { filledTensor, hostData, tensorsOnHost } from "./bridge.js";
