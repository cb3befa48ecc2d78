/// <reference lib="dom" />
/**
 * The page's API client: the public endpoints only, the pasted API key (sessionStorage) as a Bearer
 * token, and every failure turned into an ApiError whose message is meant for people.
 */
import type { CheckReport } from "../../check/run_check.ts";
import type { Prediction } from "../../predict/predict.ts";

/** What the page reads of `GET /v1/models` (a client declares what it uses). */
export interface ModelInfo {
  id: string;
  description?: string;
  labels: string[];
  input: { channels: number; height: number; width: number; layout: string; scale: string };
  backend: string;
  gradient: { mode: "exact" | "spsa"; unsupported: string[]; reason?: string };
  squeeze: { threshold: number | null; source: string };
}

export type Report = CheckReport & { image?: unknown };
export interface PredictResponse {
  prediction: Prediction;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

const KEY_NAME = "robustcheck.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_NAME);
}

export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_NAME, key);
  else sessionStorage.removeItem(KEY_NAME);
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  const key = storedKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers });
  } catch (error) {
    throw new ApiError(0, "network", `The server could not be reached (${(error as Error).message}).`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON (a proxy's error page, say): reported below with the status.
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(
      response.status,
      error?.code ?? "http_error",
      error?.message ?? `HTTP ${response.status} ${response.statusText}`,
    );
  }
  return body as T;
}

export const listModels = () => call<{ models: ModelInfo[] }>("/v1/models");

export const getModel = (id: string) => call<ModelInfo>(`/v1/models/${encodeURIComponent(id)}`);

export function check(id: string, image: Blob, options: Record<string, unknown>): Promise<Report> {
  const form = new FormData();
  form.append("image", image, "image");
  form.append("options", JSON.stringify(options));
  return call<Report>(`/v1/models/${encodeURIComponent(id)}/check`, { method: "POST", body: form });
}

export function predict(id: string, png: Blob, topK: number): Promise<PredictResponse> {
  return call<PredictResponse>(`/v1/models/${encodeURIComponent(id)}/predict?topK=${topK}`, {
    method: "POST",
    headers: { "content-type": "image/png" },
    body: png,
  });
}

/** An error in words: what went wrong, what to do, then the API's code and status. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return `Something went wrong in the page: ${String(error)}`;
  const hint: Record<number, string> = {
    401: "The server needs an API key: paste one under “API key” at the top.",
    403: "This API key may not do that.",
    413: "The image is too large for this server.",
    415: "That file is not an image the server reads (PNG, JPEG or WebP).",
    429: "Too many requests right now: wait a moment and try again.",
    503: "The server is busy or not ready: try again shortly.",
  };
  if (error.status === 0) return error.message;
  const said = `The server answered: “${error.message}” (HTTP ${error.status}, ${error.code}).`;
  return [said, hint[error.status]].filter(Boolean).join(" ");
}

/** A base64 PNG from the report as a Blob (to send it back to /predict). */
export function pngBlob(base64: string): Blob {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type: "image/png" });
}

/** What the page reads of an audit's view (`GET /v1/audits/{id}`). */
export interface AuditView {
  id: string;
  status: "queued" | "running" | "done" | "failed" | "cancelled";
  model: { id: string; version: number | null };
  dataset: { images: number };
  progress: {
    images: { done: number; total: number };
    shards: { done: number; total: number };
    stagesMs: Record<string, number>;
  };
  etaSeconds: number | null;
  error: string | null;
  createdAt: string;
  links: { self: string; html: string };
}

export const listAudits = () => call<{ audits: AuditView[] }>("/v1/audits");

export const getAudit = (id: string) => call<AuditView>(`/v1/audits/${encodeURIComponent(id)}`);

export function startAudit(body: Record<string, unknown>): Promise<AuditView> {
  return call<AuditView>("/v1/audits", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

/** An audit's HTML report with the key (a plain link cannot send a Bearer token). */
export async function auditReportHtml(path: string): Promise<Blob> {
  const headers = new Headers();
  const key = storedKey();
  if (key) headers.set("Authorization", `Bearer ${key}`);
  const response = await fetch(path, { headers });
  if (!response.ok) throw new ApiError(response.status, "http_error", `HTTP ${response.status} for the report`);
  return await response.blob();
}
