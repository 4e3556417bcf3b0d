/** Bad input: the message names the file (and row or column) and what is wrong with it. */
export class DatasetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DatasetError";
  }
}
