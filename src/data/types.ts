/** One preprocessed OpenR1-Math-220k row: what the training and evaluation stages consume. */
export interface MathExample {
  /** The dataset's uuid (or a stable hash of the problem when the source has none). */
  id: string;
  problem: string;
  /** The reference solution (the dataset's `solution` column). */
  solution: string;
  /** The gold final answer (the dataset's `answer` column). */
  answer: string;
  /** The first generation that is both complete and verified correct, when there is one. */
  reasoning?: string;
  problemType: string;
  questionType: string;
  source: string;
}

export interface DatasetSplit {
  train: MathExample[];
  validation: MathExample[];
}
