/// <reference lib="deno.worker" />
import { analyseUpload } from "./analyse_upload.ts";
import type { AnalysisRequest } from "./analyse_in_worker.ts";

// One analysis per Worker (analyse_in_worker.ts spawns it and terminates it after the reply).
self.onmessage = (event: MessageEvent<AnalysisRequest>) => {
  self.postMessage(analyseUpload(event.data.modelBytes, event.data.spec));
};
