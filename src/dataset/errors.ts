import { RequestError } from "../errors.ts";

/**
 * A dataset refused before any work starts. `problem` is a stable machine name of what was wrong
 * (the limit, e.g. `maxFiles`, or the kind of bad entry, e.g. `unsafeName`); `entry` names the
 * archive entry (or JSON item) at fault when there is one.
 */
export class DatasetError extends RequestError {
  constructor(
    status: 413 | 415 | 422,
    code: string,
    readonly problem: string,
    message: string,
    readonly entry?: string,
  ) {
    super(status, code, entry === undefined ? `${problem}: ${message}` : `${problem}: ${entry}: ${message}`);
  }
}

/** A size limit was exceeded (413 `dataset_too_large`, or `image_too_large` for one image). */
export function limitError(limit: string, message: string, entry?: string): DatasetError {
  return new DatasetError(
    413,
    limit === "maxImagePixels" ? "image_too_large" : "dataset_too_large",
    limit,
    message,
    entry,
  );
}

/** The dataset's content is malformed (422 `invalid_dataset`). */
export function invalidDataset(problem: string, message: string, entry?: string): DatasetError {
  return new DatasetError(422, "invalid_dataset", problem, message, entry);
}
