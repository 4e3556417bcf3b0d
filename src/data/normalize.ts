import { createHash } from "node:crypto";

/** The de-duplication key of a problem: Unicode NFKC, lower case, whitespace collapsed. */
export function normalizeProblem(problem: string): string {
  return problem.normalize("NFKC").toLowerCase().replace(/\s+/g, " ").trim();
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The sha256 of a text laid out as a UUID (8-4-4-4-12 hex digits): a stable id for rows that have none. */
export function uuidFromText(text: string): string {
  const h = sha256Hex(text);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
