import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** src/ both when running the TypeScript (tsx) and the build in src/dist. */
const srcDir = basename(here) === "dist" ? dirname(here) : here;

/** Path of a file shipped with the library in src/assets/ (embedded dataset sample, tokenizer, …). */
export function assetPath(...parts: string[]): string {
  return join(srcDir, "assets", ...parts);
}
