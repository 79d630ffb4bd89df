/**
 * A sandbox's nftables rules, at the edge: {@linkcode addSandboxNftRule} applies a checked plan
 * (node/hostcaps/nft_rule.ts) in the sandbox's netns unless a rule with its comment is there
 * already, and {@linkcode deleteSandboxNftRules} removes every rule whose comment names the
 * sandbox (its DEL; a netns that is gone took its rules with it).
 * @module
 */
import { nft, nftApply, NftError, nftInstalled } from "../proxy/nft.ts";
import { netnsPath } from "../cni/netns.ts";
import { deleteRulesPlan, listedRules, type NftRulePlan, sandboxTag } from "./nft_rule.ts";

/** Applies `plan` in netns `ns` (idempotent: a rule carrying the same comment is kept as it is). */
export async function addSandboxNftRule(ns: string, table: string, plan: NftRulePlan): Promise<void> {
  if (!nftInstalled()) throw new NftError("nft is not installed on this node", "");
  let have: string[] = [];
  try {
    have = listedRules(await nft(["-j", "list", "table", "ip", table], { ns })).map((r) => r.comment ?? "");
  } catch (e) {
    if (!(e instanceof NftError) || !/No such file|does not exist/i.test(e.stderr)) throw e;
  }
  if (have.includes(plan.comment)) return;
  await nftApply(plan.lines, { ns });
}

/** Deletes the rules of sandbox `sandbox` in netns `ns`, in every table (idempotent); resolves to how many. */
export async function deleteSandboxNftRules(ns: string, sandbox: string): Promise<number> {
  if (!nftInstalled()) return 0;
  try {
    await Deno.stat(netnsPath(ns));
  } catch {
    return 0;
  }
  const plan = deleteRulesPlan(
    listedRules(await nft(["-j", "list", "ruleset"], { ns })),
    sandboxTag(sandbox),
  );
  await nftApply(plan, { ns });
  return plan.length;
}
