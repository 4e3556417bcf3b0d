import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
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

const OPTIONAL_FILES = ["generation_config.json", "tokenizer.json", "tokenizer_config.json"];

/**
 * A local directory in Hugging Face layout for `source`: the shipped model for "tiny-math", the directory
 * itself when it exists on disk, otherwise the files of Hub repository `source` downloaded into the Hub cache (config, generation config,
 * tokenizer files when present, and the single or sharded safetensors weights).
 */
export async function resolveModelDir(source: string = DEFAULT_MODEL_REPO, opts: ModelSourceOptions = {}): Promise<string> {
  if (source === TINY_MATH_MODEL) return TINY_MATH_MODEL_DIR;
  if (existsSync(source)) return source;
  if (!/^[\w.-]+\/[\w.-]+$/.test(source)) throw new Error(`Model "${source}" is neither a local directory nor a Hub repository id (owner/name)`);
  const revision = opts.revision ?? (source === DEFAULT_MODEL_REPO ? DEFAULT_MODEL_REVISION : "main");
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
