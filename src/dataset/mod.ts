/** Public surface of dataset intake (see each module for its conventions). */
export { type Dataset, type DatasetImage, type DatasetInput, type ImageProblem, readDataset } from "./dataset.ts";
export { decodeDatasetImage, type DecodedDatasetImage } from "./decode.ts";
export { DatasetError } from "./errors.ts";
export { type DatasetLimits, DEFAULT_DATASET_LIMITS } from "./limits.ts";
export { builtinDatasetNames } from "./builtin.ts";
export { datasetSha256 } from "./sha256.ts";
export { stratifiedSubsample } from "./subsample.ts";
