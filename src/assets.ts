import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
/** src/ both when running the TypeScript (tsx) and the build in lib/dist (the assets are not copied into the build). */
const srcDir = basename(here) === "dist" ? join(here, "..", "..", "src") : here;

/** Path of a file shipped with the library in src/assets/ (embedded dataset sample, tokenizer, …). */
export function assetPath(...parts: string[]): string {
  return join(srcDir, "assets", ...parts);
}
