/**
 * The node's bridge (`skiff0`): created by the node agent with the gateway address (the first
 * address of the node's pod CIDR), the one bridge a network plugin's `host-net` grant lets veths
 * join. Upstream's `bridge` plugin creates its bridge itself (`isGateway`); here the host owns it,
 * and the plugin only wires sandboxes to it.
 * @module
 */
import { ip, ipBatch, IpError, ipJson, isExists, isMissing } from "./ip.ts";

/** Creates the bridge with `gatewayCidr` as its only IPv4 address, and brings it up (idempotent). */
export async function setUpBridge(bridge: string, gatewayCidr: string): Promise<void> {
  try {
    await ip(["link", "add", bridge, "type", "bridge"]);
  } catch (e) {
    if (!isExists(e)) throw e;
  }
  const addrs = await ipJson<{ addr_info?: { local: string; prefixlen: number }[] }[]>([
    "addr",
    "show",
    "dev",
    bridge,
  ]);
  const have = (addrs[0]?.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`);
  const lines = have.filter((a) => a !== gatewayCidr && a.includes(".")).map((a) =>
    `addr del ${a} dev ${bridge}`
  );
  if (!have.includes(gatewayCidr)) lines.push(`addr add ${gatewayCidr} dev ${bridge}`);
  lines.push(`link set ${bridge} up`);
  await ipBatch(lines);
}

/** Deletes the bridge (idempotent; the veths attached to it go with their namespaces). */
export async function tearDownBridge(bridge: string): Promise<void> {
  try {
    await ip(["link", "del", bridge]);
  } catch (e) {
    if (!isMissing(e)) throw e;
  }
}

/** Throws (with `ip`'s reason) unless the bridge exists. */
export async function bridgeExists(bridge: string): Promise<void> {
  try {
    await ip(["link", "show", bridge]);
  } catch (e) {
    throw new Error(`bridge ${bridge} is missing${e instanceof IpError ? `: ${e.stderr.trim()}` : ""}`);
  }
}
