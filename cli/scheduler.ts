/**
 * `./skiff scheduler --server URL --kubeconfig PATH`: the scheduler as its own process. Several
 * replicas elect one leader through the `kube-system/kube-scheduler` Lease; the others keep their
 * caches warm and take over when the leader stops. Stops cleanly, releasing the lease, on
 * SIGINT/SIGTERM.
 * @module
 */
import { startScheduler } from "../control/scheduler/mod.ts";
import type { Command, Flags } from "./args.ts";
import { CONNECTION_FLAGS, LEADER_ELECTION_FLAGS } from "./component_flags.ts";
import { clientConfig, clientFor, parseDuration, shutdownSignal } from "./controller_manager.ts";
import { CliError } from "./errors.ts";

const duration = (flags: Flags, name: string): number | undefined =>
  flags[name] === undefined ? undefined : parseDuration(String(flags[name]));

/** The scheduler options the flags ask for (pure; throws a usage CliError for bad values). */
export function schedulerFlags(flags: Flags) {
  const pct = flags["percentage-of-nodes-to-score"] as number;
  if (pct > 100) {
    throw new CliError(`--percentage-of-nodes-to-score must be between 0 and 100, got ${pct}`, 2);
  }
  const initial = (flags["pod-initial-backoff-seconds"] as number) * 1000;
  const max = (flags["pod-max-backoff-seconds"] as number) * 1000;
  if (initial <= 0 || max < initial) {
    throw new CliError(
      "--pod-initial-backoff-seconds must be positive and at most --pod-max-backoff-seconds",
      2,
    );
  }
  const leaderElect = String(flags["leader-elect"]) !== "false";
  return {
    identity: flags.identity as string | undefined,
    percentageOfNodesToScore: pct,
    initialBackoffMs: initial,
    maxBackoffMs: max,
    leaderElection: leaderElect
      ? {
        leaseDurationMs: duration(flags, "leader-elect-lease-duration"),
        renewDeadlineMs: duration(flags, "leader-elect-renew-deadline"),
        retryPeriodMs: duration(flags, "leader-elect-retry-period"),
      }
      : false as const,
  };
}

/** `./skiff scheduler`. */
export const schedulerCommand: Command = {
  name: "scheduler",
  summary: "Run the scheduler (assigns pending pods to nodes) against an API server.",
  description:
    "Binds pods with spec.schedulerName default-scheduler (or empty) to nodes, behind one leader election, " +
    "so several replicas can run for availability.",
  flags: [
    ...CONNECTION_FLAGS,
    ...LEADER_ELECTION_FLAGS,
    {
      name: "percentage-of-nodes-to-score",
      type: "number",
      value: "N",
      default: 0,
      max: 100,
      description:
        "Stop filtering once this % of nodes fit (0: adaptive, 50% minus 1% per 125 nodes, at least 5%).",
    },
    {
      name: "pod-initial-backoff-seconds",
      type: "number",
      value: "N",
      default: 1,
      description: "First back-off of a pod that failed to schedule.",
    },
    {
      name: "pod-max-backoff-seconds",
      type: "number",
      value: "N",
      default: 10,
      description: "Longest back-off of a pod that failed to schedule.",
    },
  ],
  args: "none",
  packages: [],
  async run({ flags, cwd }) {
    const cfg = await clientConfig(flags, cwd);
    const opts = schedulerFlags(flags);
    const { signal, dispose } = shutdownSignal();
    try {
      const { scheduler, done } = startScheduler({
        client: clientFor(cfg, "skiff-scheduler"),
        signal,
        ...opts,
      });
      console.error(`scheduler: ${scheduler.identity} talking to ${cfg.server}`);
      await done;
      return 0;
    } catch (e) {
      if (e instanceof Error && /leaseDuration|renewDeadline|retryPeriod/.test(e.message)) {
        throw new CliError(e.message, 2);
      }
      throw e;
    } finally {
      dispose();
    }
  },
};
