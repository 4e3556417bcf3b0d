import { createRequire } from "node:module";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { environment } from "./environment.js";
import { installOrtMatMul } from "./kernels/matmul.js";
import { installWasmCopyKernels } from "./kernels/wasm-copies.js";
import { activateWebGpu, findWebGpuAdapter, gpuDevicePresent } from "./webgpu.js";
import { BACKEND_PREFERENCES, type BackendName, type BackendPreference } from "./backend-names.js";

export { BACKEND_PREFERENCES, type BackendName, type BackendPreference };

export interface BackendInfo {
  /** The tfjs backend that is active. */
  name: BackendName;
  /** Where it came from, e.g. "@tensorflow/tfjs-node-gpu" or "@tensorflow/tfjs-backend-wasm (SIMD)". */
  source: string;
  /** Backends that were tried before this one and why they were skipped. */
  skipped: string[];
}

const require = createRequire(import.meta.url);

/**
 * The native packages register a "tensorflow" backend when they load. danfojs's override aliases
 * "@tensorflow/tfjs-node" to pure tfjs, so a successful require alone proves nothing: check the registry.
 */
function tryNative(pkg: string, skipped: string[]): boolean {
  try {
    require(pkg);
  } catch (e) {
    skipped.push(`${pkg}: not installed (${(e as Error).message.split("\n")[0]})`);
    return false;
  }
  if (tf.findBackendFactory("tensorflow") == null) {
    skipped.push(`${pkg}: not installed (the name resolves to danfojs's pure-JavaScript stand-in, not native TensorFlow)`);
    return false;
  }
  return true;
}

async function activate(name: BackendName): Promise<boolean> {
  try {
    return await tf.setBackend(name);
  } catch {
    return false;
  }
}

let current: BackendInfo | undefined;

/** Routes the backend's matmuls to onnxruntime's MLAS when onnxruntime-node loads (OPENR1_ORT=0: off). */
function ortMatMul(backend: BackendName): string {
  return installOrtMatMul({ backends: [backend] }).length ? " + onnxruntime MLAS matmul" : "";
}

/**
 * Selects the fastest tfjs backend that loads: tfjs-node-gpu, tfjs-node, webgpu on a hardware GPU, wasm (SIMD),
 * cpu. `preference` forces one; "auto" (the default) takes the installed environment's (OPENR1_BACKEND). Forced,
 * webgpu also runs on a software adapter (Mesa's lavapipe): correct, for tests, but slower than wasm.
 */
export async function selectBackend(requested: BackendPreference = "auto"): Promise<BackendInfo> {
  const preference = requested === "auto" ? environment().backend : requested;
  if (!BACKEND_PREFERENCES.includes(preference)) {
    throw new Error(`Unknown backend "${preference}": use auto, tensorflow, webgpu, wasm or cpu (OPENR1_BACKEND)`);
  }
  if (current && (preference === "auto" || preference === current.name)) return current;
  const skipped: string[] = [];
  if (preference === "auto" || preference === "tensorflow") {
    for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
      if (tryNative(pkg, skipped) && (await activate("tensorflow"))) {
        return (current = { name: "tensorflow", source: pkg, skipped });
      }
    }
    if (preference === "tensorflow") {
      throw new Error(`The tensorflow backend is not available:\n  ${skipped.join("\n  ")}\n` +
        "Install it with `bash environment/setup.sh --gpu` (or --native for CPU).");
    }
  }
  if (preference === "auto" && !gpuDevicePresent()) {
    skipped.push("webgpu: no GPU device (/dev/nvidia0 or /dev/dri/renderD*) for a hardware adapter");
  } else if (preference === "auto" || preference === "webgpu") {
    const found = await findWebGpuAdapter();
    if ("why" in found) {
      if (preference === "webgpu") throw new Error(`The webgpu backend is not available: ${found.why}`);
      skipped.push(`webgpu: ${found.why}`);
    } else if (found.adapter.fallback && preference === "auto") {
      skipped.push(`webgpu: only a software adapter (${found.adapter.description}), slower than wasm`);
    } else {
      const adapter = await activateWebGpu();
      const software = adapter.fallback ? ", software" : "";
      return (current = { name: "webgpu", source: `@tensorflow/tfjs-backend-webgpu on ${adapter.description} (Dawn${software})`, skipped });
    }
  }
  if (preference === "auto" || preference === "wasm") {
    // In Node the wasm binaries are read from the package folder on disk.
    setWasmPaths(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm").replace(/[^/]+$/, ""));
    if (await activate("wasm")) {
      installWasmCopyKernels();
      const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
      return (current = { name: "wasm", source: `@tensorflow/tfjs-backend-wasm${simd ? " (SIMD)" : ""}${ortMatMul("wasm")}`, skipped });
    }
    skipped.push("wasm: failed to initialise");
    if (preference === "wasm") throw new Error("The wasm backend failed to initialise");
  }
  if (!(await activate("cpu"))) throw new Error("Not even the tfjs cpu backend could be initialised");
  return (current = { name: "cpu", source: `@tensorflow/tfjs-backend-cpu (pure JavaScript)${ortMatMul("cpu")}`, skipped });
}
