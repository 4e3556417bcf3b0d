/**
 * The project's own environment variables, read in one place: an entry point (the CLI, a bench, the test runner's
 * preload) calls `applyEnvironment(readEnvironment(process.env))` once, before it loads models, and library code
 * reads the typed settings (`environment()`), never `process.env` (the Hub's HF_* and W&B's WANDB_* variables are
 * read by hub/config.ts and tracking/ from an `env` they are given, process.env by default). A library user who
 * applies nothing gets the defaults. The table of every variable: docs/configuration.md.
 *
 * No tfjs here: `openr1 score` reads the environment too.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { BACKEND_PREFERENCES, type BackendPreference } from "./backend-names.js";

export interface EnvironmentSettings {
  /** OPENR1_BACKEND: the backend "auto" means (auto, tensorflow, webgpu, wasm, cpu). */
  backend: BackendPreference;
  /** OPENR1_ORT=0 (never load onnxruntime-node), OPENR1_ORT_THREADS, OPENR1_ORT_PREPACK=1. */
  ort: { disabled: boolean; threads: number; prepack: boolean };
  /** OPENR1_FUSED_LAYER, OPENR1_ACTIVATION_MB, OPENR1_ATTENTION_TILE_MB, OPENR1_PACK_ON_CALL_MB: ExecutionOptions (src/model/execution-options.ts) the variables set. */
  execution: { fusedLayer?: boolean; activationBytes?: number; attentionTileBytes?: number; packOnCallBytes?: number };
  /** OPENR1_WEBGPU_MAX_BINDING_MB: a lower GPU binding limit to work to (MiB). */
  webgpuMaxBindingMb?: number;
  /** OPENR1_CACHE: where generated random models are kept (default ~/.cache/openr1). */
  cacheDir: string;
  /** CI: progress bars on even without a terminal. */
  ci: boolean;
  /** OPENR1_API_KEY: the key `openr1 serve` asks for. */
  serveApiKey?: string;
  /** OPENAI_API_KEY: the key `evaluate --endpoint` sends. */
  endpointApiKey?: string;
}

function positiveInteger(env: Record<string, string | undefined>, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return v;
}

/** The execution options the variables set (src/model/execution-options.ts applies them over its defaults). */
function executionFromEnv(env: Record<string, string | undefined>): EnvironmentSettings["execution"] {
  const out: EnvironmentSettings["execution"] = {};
  const mib = (name: string): number | undefined => {
    const raw = env[name];
    if (raw === undefined || raw === "") return undefined;
    const v = Number(raw);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a number of MiB ≥ 0, got "${raw}"`);
    return v * 2 ** 20;
  };
  if (env.OPENR1_FUSED_LAYER !== undefined && env.OPENR1_FUSED_LAYER !== "") out.fusedLayer = env.OPENR1_FUSED_LAYER !== "0";
  const activation = mib("OPENR1_ACTIVATION_MB");
  if (activation !== undefined) out.activationBytes = activation;
  const tile = mib("OPENR1_ATTENTION_TILE_MB");
  if (tile !== undefined) out.attentionTileBytes = tile;
  const pack = mib("OPENR1_PACK_ON_CALL_MB");
  if (pack !== undefined) out.packOnCallBytes = pack;
  return out;
}

/** The settings the environment gives (unset variables: their defaults); a malformed value is an error naming it. */
export function readEnvironment(env: Record<string, string | undefined>): EnvironmentSettings {
  const backend = (env.OPENR1_BACKEND || "auto") as BackendPreference;
  if (!BACKEND_PREFERENCES.includes(backend)) throw new Error(`OPENR1_BACKEND must be one of ${BACKEND_PREFERENCES.join(", ")}, got "${backend}"`);
  const binding = env.OPENR1_WEBGPU_MAX_BINDING_MB;
  if (binding && !(Number(binding) > 0)) throw new Error(`OPENR1_WEBGPU_MAX_BINDING_MB must be a number of MiB > 0, got "${binding}"`);
  return {
    backend,
    ort: { disabled: env.OPENR1_ORT === "0", threads: positiveInteger(env, "OPENR1_ORT_THREADS", 2), prepack: env.OPENR1_ORT_PREPACK === "1" },
    execution: executionFromEnv(env),
    webgpuMaxBindingMb: binding ? Number(binding) : undefined,
    cacheDir: env.OPENR1_CACHE || join(homedir(), ".cache", "openr1"),
    ci: Boolean(env.CI),
    serveApiKey: env.OPENR1_API_KEY || undefined,
    endpointApiKey: env.OPENAI_API_KEY || undefined,
  };
}

let installed: EnvironmentSettings = readEnvironment({});

/** Installs the settings as the process's own (what the modules below read): call before loading models. */
export function applyEnvironment(s: EnvironmentSettings): void {
  installed = s;
}

/** The installed settings (an unset environment's defaults until an entry point applies one). */
export function environment(): EnvironmentSettings {
  return installed;
}
