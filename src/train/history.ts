/**
 * The trainer's log history in W&B's naming (train/loss, train/learning_rate, …, eval/loss,
 * train/global_step), the rows the viz stage's training charts read.
 */
export function historyToMetricRows(history: Record<string, number>[]): Record<string, number>[] {
  return history.map(({ step, ...rest }) => {
    const row: Record<string, number> = { "train/global_step": step! };
    for (const [k, v] of Object.entries(rest)) row[k.startsWith("eval_") ? `eval/${k.slice(5)}` : `train/${k}`] = v;
    return row;
  });
}
