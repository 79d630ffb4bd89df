/**
 * Runs `nft` (Debian package `nftables`): a script on stdin as one atomic transaction (`nft -f
 * -`), in the host's network namespace or in a named one (`ip netns exec`).
 * @module
 */

const NFT = "/usr/sbin/nft";

/** `nft` failed; `stderr` says why. */
export class NftError extends Error {
  override name = "NftError";
  constructor(readonly stderr: string, readonly script: string) {
    super(`nft failed: ${stderr.trim().split("\n").slice(0, 6).join(" | ")}`);
  }
}

/** Whether the `nft` binary is installed. */
export function nftInstalled(): boolean {
  try {
    return Deno.statSync(NFT).isFile;
  } catch {
    return false;
  }
}

/** Applies `lines` as one transaction; in netns `ns` when given. */
export async function nftApply(lines: string[], opts: { ns?: string } = {}): Promise<void> {
  if (lines.length === 0) return;
  const script = lines.join("\n") + "\n";
  const [cmd, args] = opts.ns
    ? ["/usr/sbin/ip", ["netns", "exec", opts.ns, NFT, "-f", "-"]]
    : [NFT, ["-f", "-"]];
  const child = new Deno.Command(cmd, { args, stdin: "piped", stdout: "null", stderr: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const out = await child.output();
  if (out.code !== 0) throw new NftError(new TextDecoder().decode(out.stderr), script);
}

/** Runs `nft <args>`; resolves to stdout. */
export async function nft(args: string[], opts: { ns?: string } = {}): Promise<string> {
  const [cmd, argv] = opts.ns ? ["/usr/sbin/ip", ["netns", "exec", opts.ns, NFT, ...args]] : [NFT, args];
  const out = await new Deno.Command(cmd, { args: argv, stdin: "null", stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) throw new NftError(new TextDecoder().decode(out.stderr), args.join(" "));
  return new TextDecoder().decode(out.stdout);
}

/** Deletes table `family name` if it exists (idempotent). */
export async function nftDeleteTable(family: string, name: string, opts: { ns?: string } = {}): Promise<void> {
  await nftApply([`add table ${family} ${name}`, `delete table ${family} ${name}`], opts);
}

/** The names of the tables of `family` (for tests and leak checks). */
export async function nftTables(opts: { ns?: string } = {}): Promise<string[]> {
  const out = await nft(["list", "tables"], opts);
  return out.split("\n").map((l) => l.trim()).filter(Boolean).map((l) => l.replace(/^table /, ""));
}
