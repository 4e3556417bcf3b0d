import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { assetPath } from "../assets.js";
import { hubDownload, HubDownloadError, withCacheHint, type HubSettingsOptions } from "../hub/index.js";
import { Qwen2Model } from "./qwen2.js";

/** The model the pipeline fine-tunes, pinned to a commit of its Hub repository. */
export const DEFAULT_MODEL_REPO = "Qwen/Qwen2.5-0.5B-Instruct";
export const DEFAULT_MODEL_REVISION = "7ae557604adf67be50417f59c2c2f167def9a775";

/**
 * The base model shipped in src/assets/models/qwen2-tiny-math: pretrained from scratch by `openr1 pretrain`
 * on generated arithmetic (recipe and measurements in its provenance.json). The embedded default's model.
 */
export const TINY_MATH_MODEL = "tiny-math";
export const TINY_MATH_MODEL_DIR = assetPath("models", "qwen2-tiny-math");

export interface ModelSourceOptions extends HubSettingsOptions {
  /** Hub revision (branch, tag or commit); default: the pinned commit for the default repo, else "main". */
  revision?: string;
  progress?: boolean;
}

const OPTIONAL_FILES = ["generation_config.json", "tokenizer.json", "tokenizer_config.json", "chat_template.jinja"];
const HUB_ID = /^[\w.-]+\/[\w.-]+$/;

/** The Hub revision used for `source`: the one asked for, else the pinned commit for the default repo, else "main". */
function hubRevision(source: string, revision?: string): string {
  return revision ?? (source === DEFAULT_MODEL_REPO ? DEFAULT_MODEL_REVISION : "main");
}

/**
 * How an adapter names the model it was trained on, so that peft's `AutoPeftModelForCausalLM` and vLLM load it:
 * a Hub repository with the revision used, or the absolute path of the local folder `modelDir` (the shipped
 * tiny-math, a generated model, a user's folder) with no revision.
 */
export function baseModelReference(source: string, modelDir: string, revision?: string): { nameOrPath: string; revision: string | null } {
  const hub = source !== TINY_MATH_MODEL && !existsSync(source) && HUB_ID.test(source) && resolve(modelDir) !== resolve(source);
  return hub ? { nameOrPath: source, revision: hubRevision(source, revision) } : { nameOrPath: resolve(modelDir), revision: null };
}

/**
 * A local directory in Hugging Face layout for `source`: the shipped model for "tiny-math", the directory
 * itself when it exists on disk, otherwise the files of Hub repository `source` downloaded into the Hub cache (config, generation config,
 * tokenizer files when present, and the single or sharded safetensors weights).
 */
export async function resolveModelDir(source: string = DEFAULT_MODEL_REPO, opts: ModelSourceOptions = {}): Promise<string> {
  if (source === TINY_MATH_MODEL) return TINY_MATH_MODEL_DIR;
  if (existsSync(source)) return source;
  if (!HUB_ID.test(source)) throw new Error(`Model "${source}" is neither a local directory nor a Hub repository id (owner/name)`);
  const revision = hubRevision(source, opts.revision);
  const get = (filename: string) => hubDownload({ ...opts, repoId: source, revision, filename });
  const configPath = await get("config.json");
  for (const f of OPTIONAL_FILES) {
    try {
      await get(f);
    } catch (e) {
      if (!(e instanceof HubDownloadError)) throw e;
    }
  }
  try {
    await get("model.safetensors");
  } catch (single) {
    if (!(single instanceof HubDownloadError)) throw single;
    let indexPath: string;
    try {
      indexPath = await get("model.safetensors.index.json");
    } catch {
      throw single;
    }
    const index = JSON.parse(await readFile(indexPath, "utf8")) as { weight_map?: Record<string, string> };
    for (const shard of new Set(Object.values(index.weight_map ?? {}))) await get(shard);
  }
  return dirname(configPath);
}

/** Loads a Qwen2 model from a local directory or a Hub repository (default: Qwen2.5-0.5B-Instruct, pinned). */
export async function loadQwen2Model(source: string = DEFAULT_MODEL_REPO, opts: ModelSourceOptions = {}): Promise<Qwen2Model> {
  const dir = await resolveModelDir(source, opts);
  return Qwen2Model.fromDirectory(dir, { progress: opts.progress }).catch((e: unknown) => Promise.reject(withCacheHint(e, dir, opts)));
}
