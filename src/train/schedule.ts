/** After warmup (transformers' cosine_with_min_lr / cosine, linear and constant_with_warmup schedules). */
export const SCHEDULE_KINDS = ["cosine", "linear", "constant"] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export interface ScheduleConfig {
  kind: ScheduleKind;
  /** Peak learning rate. */
  learningRate: number;
  warmupSteps: number;
  totalSteps: number;
  /** Cosine only: the floor as a fraction of the peak (transformers' min_lr_rate); 0 is plain cosine. */
  minLrRatio?: number;
}

/** Optimizer steps of a run over `numExamples`: maxSteps when set, else the epochs' micro-batches over the accumulation. */
export function totalTrainingSteps(numExamples: number, cfg: { batchSize: number; gradientAccumulation: number; epochs: number; maxSteps: number | null }): number {
  return cfg.maxSteps ?? Math.max(1, Math.ceil((cfg.epochs * Math.ceil(numExamples / cfg.batchSize)) / cfg.gradientAccumulation));
}

/** transformers' warmup_ratio → warmup steps: ceil(ratio · total). */
export function warmupStepsFromRatio(ratio: number, totalSteps: number): number {
  return Math.ceil(ratio * totalSteps);
}

/**
 * The multiplier of the peak learning rate after `step` optimizer steps, as transformers'
 * get_cosine_with_min_lr_schedule_with_warmup (num_cycles 0.5; min_lr_rate 0 is get_cosine_schedule_with_warmup),
 * get_linear_schedule_with_warmup and get_constant_schedule_with_warmup compute it. Like torch, optimizer
 * step number `step` (0-based) uses lrFactor(step): with warmup, the first update has learning rate 0.
 */
export function lrFactor(step: number, cfg: Omit<ScheduleConfig, "learningRate">): number {
  const { warmupSteps: w, totalSteps: T } = cfg;
  if (step < w) return step / Math.max(1, w);
  if (cfg.kind === "constant") return 1;
  if (cfg.kind === "linear") return Math.max(0, (T - step) / Math.max(1, T - w));
  const progress = (step - w) / Math.max(1, T - w);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * 2 * 0.5 * progress));
  const floor = cfg.minLrRatio ?? 0;
  return Math.max(0, cosine * (1 - floor) + floor);
}

export function learningRateAt(step: number, cfg: ScheduleConfig): number {
  return cfg.learningRate * lrFactor(step, cfg);
}
