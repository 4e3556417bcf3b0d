// The library the notebooks and the CLI use, one stage per folder.
export * from "./backend.js";
export { WebGpuError, findWebGpuAdapter, webGpuAdapter, type GpuAdapter } from "./webgpu.js";
export * from "./kernels/index.js";
export * from "./assets.js";
export * from "./data/index.js";
export * from "./model/index.js";
export * from "./tokenizer/index.js";
export * from "./train/index.js";
export * from "./rl/index.js";
export * from "./eval/index.js";
export * from "./tracking/index.js";
export * from "./viz/index.js";
export * from "./pipeline/index.js";
export * from "./serve/index.js";
export * from "./export/trl.js";
