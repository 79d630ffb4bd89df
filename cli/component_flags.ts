/**
 * Flags shared by the commands that run a control-plane component against an API server
 * (`./skiff scheduler`, `./skiff controller-manager`): where the server is, and leader election.
 * @module
 */
import type { FlagSpec } from "./args.ts";

/** `--server` and `--kubeconfig`. */
export const CONNECTION_FLAGS: FlagSpec[] = [
    {
      name: "server",
      type: "string",
      value: "URL",
      description: "The API server URL (overrides the kubeconfig).",
    },
    {
      name: "kubeconfig",
      type: "string",
      value: "PATH",
      description: "A kubeconfig to read the server and token from.",
    },
];

/** `--leader-elect*` and `--identity`, with upstream's defaults. */
export const LEADER_ELECTION_FLAGS: FlagSpec[] = [
    {
      name: "leader-elect",
      type: "string",
      value: "BOOL",
      default: "true",
      description: "Run behind leader election (true or false).",
    },
    {
      name: "leader-elect-lease-duration",
      type: "string",
      value: "DURATION",
      default: "15s",
      description: "How long a standby waits before taking over.",
    },
    {
      name: "leader-elect-renew-deadline",
      type: "string",
      value: "DURATION",
      default: "10s",
      description: "How long the leader retries renewing before it stops leading.",
    },
    {
      name: "leader-elect-retry-period",
      type: "string",
      value: "DURATION",
      default: "2s",
      description: "Time between leader election attempts.",
    },
    {
      name: "identity",
      type: "string",
      value: "ID",
      description: "This replica's identity in the lease (default hostname_uuid).",
    },
];
