import type { TokenizedExample } from "../train/format.js";

/**
 * Concatenates tokenized documents, each followed by `separatorId` (<|endoftext|>), and cuts the stream
 * into rows of `seqLength` tokens, every token a target (the tail that does not fill a row is dropped), as
 * GPT-style pretraining does. Attention crosses document boundaries; the separator tells the model where
 * one ends.
 */
export function packDocuments(docs: number[][], seqLength: number, separatorId: number, idPrefix = "row"): TokenizedExample[] {
  const stream: number[] = [];
  for (const d of docs) stream.push(...d, separatorId);
  const rows: TokenizedExample[] = [];
  for (let s = 0; s + seqLength <= stream.length; s += seqLength) {
    const ids = stream.slice(s, s + seqLength);
    rows.push({ id: `${idPrefix}-${rows.length}`, inputIds: ids, labels: ids, promptLength: 0, truncated: false });
  }
  return rows;
}
