export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** A measured number to 4 significant digits, without trailing zeros (0.8611111111111117 → 0.8611, 0.033 → 0.033). */
export function roundNumber(value: number): string {
  return Number.isInteger(value) || !Number.isFinite(value) ? String(value) : String(Number(value.toPrecision(4)));
}

function cell(value: unknown, maxChars: number): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "✓" : "✗";
  if (typeof value === "number") return roundNumber(value);
  const text = typeof value === "string" ? value : JSON.stringify(value, (_, v: unknown) => (typeof v === "number" && !Number.isInteger(v) ? Number(roundNumber(v)) : v));
  // A model's output can be all blanks: say so rather than draw a page of empty lines.
  if (text.length > 0 && text.trim() === "") return `<em>(${text.length} blank characters)</em>`;
  const shown = text.replace(/\n{3,}/g, "\n\n");
  if (shown.length <= maxChars) return escapeHtml(shown);
  return `<span title="${escapeHtml(text)}">${escapeHtml(shown.slice(0, maxChars))}…</span>`;
}

/** An HTML table of `columns` × `data` (a W&B table), long cells cut to `maxChars` (full text on hover). */
export function tableHtml(
  table: { columns: string[]; data: unknown[][] },
  options: { maxRows?: number; maxChars?: number; caption?: string } = {},
): string {
  const { maxRows = 50, maxChars = 240, caption } = options;
  const rows = table.data.slice(0, maxRows);
  const style = "text-align:left;vertical-align:top;white-space:pre-wrap;overflow-wrap:anywhere;max-width:32em";
  // Cells show raw strings (LaTeX included): MathJax is told to leave the table alone.
  return (
    `<table class="openr1-table tex2jax_ignore mathjax_ignore" style="table-layout:auto">` +
    (caption ? `<caption>${escapeHtml(caption)}</caption>` : "") +
    `<thead><tr>${table.columns.map((c) => `<th style="${style}">${escapeHtml(c)}</th>`).join("")}</tr></thead>` +
    `<tbody>${rows.map((r) => `<tr>${r.map((v) => `<td style="${style}"><div style="max-height:16em;overflow:auto">${cell(v, maxChars)}</div></td>`).join("")}</tr>`).join("")}</tbody>` +
    `</table>` +
    (table.data.length > rows.length ? `<p>${rows.length} of ${table.data.length} rows shown.</p>` : "")
  );
}

/** A two-column HTML table of key → value (config, summary), nested objects as JSON. */
export function keyValueHtml(values: Record<string, unknown>, options: { maxChars?: number } = {}): string {
  return tableHtml({ columns: ["key", "value"], data: Object.entries(values).map(([k, v]) => [k, v]) }, { maxRows: Infinity, ...options });
}
