import { Counter, Gauge, Histogram, Registry } from "prom-client";

const SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * The service's Prometheus metrics, in a registry of their own (one per server, so several servers in one test
 * process do not collide). Route labels are route patterns (`/v1/models/:id/check`), never raw paths.
 */
export function createMetrics() {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    requests: new Counter({
      name: "robustcheck_http_requests_total",
      help: "HTTP requests by route pattern, method and status",
      labelNames: ["route", "method", "status"] as const,
      registers,
    }),
    latency: new Histogram({
      name: "robustcheck_http_request_duration_seconds",
      help: "Time from the request's arrival to its response, by route pattern",
      labelNames: ["route", "method"] as const,
      buckets: SECONDS,
      registers,
    }),
    stages: new Histogram({
      name: "robustcheck_check_stage_seconds",
      help: "Time per stage of /check (decode, screening forward pass, each probe), from the report's timings",
      labelNames: ["stage"] as const,
      buckets: SECONDS,
      registers,
    }),
    queueWait: new Histogram({
      name: "robustcheck_admission_wait_seconds",
      help: "Time a model-work request waited for a slot",
      buckets: [0, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
      registers,
    }),
    inFlight: new Gauge({ name: "robustcheck_admission_in_flight", help: "Model-work requests running", registers }),
    queueDepth: new Gauge({
      name: "robustcheck_admission_queue_depth",
      help: "Requests waiting for a slot",
      registers,
    }),
    rejections: new Counter({
      name: "robustcheck_rejections_total",
      help: "Requests refused before any work: overloaded, rate_limited, unauthorized, forbidden, too_many_requests",
      labelNames: ["reason"] as const,
      registers,
    }),
    cancellations: new Counter({
      name: "robustcheck_cancelled_requests_total",
      help: "Requests stopped before they finished: deadline, client_gone, shutdown",
      labelNames: ["reason"] as const,
      registers,
    }),
    sessionRuns: new Counter({
      name: "robustcheck_session_runs_total",
      help: "onnxruntime session runs (forward or gradient batches) sent to the session Workers",
      registers,
    }),
    workerRestarts: new Counter({
      name: "robustcheck_worker_restarts_total",
      help: "Session Workers replaced after a crash or a hang",
      registers,
    }),
    listenerRestarts: new Counter({
      name: "robustcheck_listener_restarts_total",
      help: "Times the HTTP listener was opened again after its accept loop failed (e.g. out of file descriptors)",
      registers,
    }),
    modelLoads: new Counter({
      name: "robustcheck_model_loads_total",
      help: "Model folders loaded, by result",
      labelNames: ["result"] as const,
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
