/** Where the trainer stands; passed to every callback. */
export interface TrainerState {
  globalStep: number;
  maxSteps: number;
  epoch: number;
}

/**
 * The trainer's callback interface (the shape of transformers' TrainerCallback). Log keys follow
 * transformers' Trainer: `loss`, `learning_rate`, `grad_norm`, `epoch`, `tokens_per_second`, `num_tokens`
 * on training logs and `eval_loss` on evaluation; integrations rename them (W&B: `train/loss`, `eval/loss`).
 * The trainer awaits each hook, so a hook must return quickly: anything slow (network) runs in the background.
 */
export interface TrainerCallback {
  onTrainBegin?(config: Record<string, unknown>, state: TrainerState): void | Promise<void>;
  /** After every optimizer step (progress bars, live charts): `loss`, `learning_rate`, `grad_norm`, `tokens_per_second`. */
  onStepEnd?(logs: Record<string, number>, state: TrainerState): void | Promise<void>;
  onLog?(logs: Record<string, number>, state: TrainerState): void | Promise<void>;
  onEvaluate?(metrics: Record<string, number>, state: TrainerState): void | Promise<void>;
  onSave?(checkpointDir: string, state: TrainerState): void | Promise<void>;
  onTrainEnd?(summary: Record<string, number>, state: TrainerState): void | Promise<void>;
}
