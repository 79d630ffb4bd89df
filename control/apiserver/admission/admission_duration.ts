/**
 * How long the WasmPlugins admission step and each plugin call take, as the API server sees them:
 * the observations upstream's API server records in two histograms,
 *
 * - `apiserver_admission_webhook_admission_duration_seconds` (labels `name`, `type` = `admit` |
 *   `validating`, `operation`, `rejected`): one webhook call — here one plugin call, from
 *   building its AdmissionReview to its checked answer, whichever path carried it (direct to the
 *   runner, or through the plugin host);
 * - `apiserver_admission_controller_admission_duration_seconds` (labels `name`, `type` = `admit` |
 *   `validate`, `operation`, `rejected`): one admission controller's phase — here the
 *   WasmPlugins step's `admit` or `validate` for one request (matching, every call, patches).
 *
 * Skiff has no `/metrics` endpoint yet: the observations go to a callback
 * (`WasmAdmissionOptions.observe`), which the admission benchmark uses to measure the latency a
 * plugin adds per create directly (tests/bench/plugins.ts). Without a callback nothing is timed.
 * @module
 */
import type { AdmissionAttributes } from "../context.ts";

/** Upstream's metric names (k8s.io/apiserver/pkg/admission/metrics). */
export const WEBHOOK_DURATION = "apiserver_admission_webhook_admission_duration_seconds";
export const CONTROLLER_DURATION = "apiserver_admission_controller_admission_duration_seconds";

/** One observation, with upstream's labels. */
export type AdmissionDuration =
  | {
    metric: typeof WEBHOOK_DURATION;
    /** The plugin (upstream: the webhook's name). */
    name: string;
    type: "admit" | "validating";
    operation: string;
    rejected: boolean;
    seconds: number;
  }
  | {
    metric: typeof CONTROLLER_DURATION;
    /** The admission step: `WasmPlugins`. */
    name: string;
    type: "admit" | "validate";
    operation: string;
    rejected: boolean;
    seconds: number;
  };

/** Receives each observation with the write it belongs to (read-only: do not change it). */
export type ObserveAdmission = (o: AdmissionDuration, attrs: AdmissionAttributes) => void;
