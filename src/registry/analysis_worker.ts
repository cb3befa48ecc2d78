/// <reference lib="deno.worker" />
import { analyzeUpload } from "./analyze_upload.ts";
import type { AnalysisRequest } from "./analyze_in_worker.ts";

// One analysis per Worker (analyze_in_worker.ts spawns it and terminates it after the reply).
self.onmessage = (event: MessageEvent<AnalysisRequest>) => {
  self.postMessage(analyzeUpload(event.data.modelBytes, event.data.spec));
};
