/**
 * Pod networking behind an interface shaped like CNI (spec 1.0): `add`, `del`, `check` and
 * `status`, each idempotent, with CNI's request and result fields. The runtime calls it when it
 * runs and stops a pod sandbox, as containerd does.
 *
 * One extension, documented: several attachments may share one network namespace and
 * interface (Wasm sandboxes host several pods); each attachment, keyed by `containerId`, owns
 * one address on that interface.
 * @module
 */

/** A CNI ADD/DEL/CHECK request (`CNI_CONTAINERID`, `CNI_NETNS`, `CNI_IFNAME`, `CNI_ARGS`). */
export interface CniRequest {
  containerId: string;
  /** Path of the network namespace, e.g. `/run/netns/skiff-abc`. */
  netns: string;
  ifName: string;
  args?: Record<string, string>;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIp {
  /** CIDR notation, e.g. `198.18.0.5/22`. */
  address: string;
  gateway?: string;
  interface?: number;
}

/** A CNI 1.x result (the built-in bridge answers 1.0.0; exec plugins their list's version). */
export interface CniResult {
  cniVersion: string;
  interfaces: CniInterface[];
  ips: CniIp[];
  routes: { dst: string; gw?: string }[];
  dns: { nameservers?: string[]; domain?: string; search?: string[]; options?: string[] };
}

/** A CNI error (`code` as in the spec: 7 invalid config, 11 try again, 100+ plugin specific). */
export class CniError extends Error {
  override name = "CniError";
  constructor(readonly code: number, message: string, readonly details = "") {
    super(message);
  }
}

export interface NetworkPlugin {
  add(req: CniRequest): Promise<CniResult>;
  del(req: CniRequest): Promise<void>;
  /** Throws {@linkcode CniError} when the attachment is not as `add` left it. */
  check(req: CniRequest): Promise<void>;
  /** Throws when the plugin cannot serve ADDs (e.g. the bridge is missing). */
  status(): Promise<void>;
}
