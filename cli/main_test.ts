import assert from "node:assert/strict";
import type { Command } from "./args.ts";
import { CliError } from "./errors.ts";
import { main, repoRoot } from "./main.ts";

function command(run: Command["run"]): Command {
  return { name: "x", summary: "x", flags: [], args: "positional", packages: [], run };
}

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string[]; err: string[] }> {
  const [log, error] = [console.log, console.error];
  const out: string[] = [];
  const err: string[] = [];
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await fn(), out, err };
  } finally {
    [console.log, console.error] = [log, error];
  }
}

Deno.test("main() runs the command with the caller's cwd and the repository root, and returns its code", async () => {
  let seen: unknown;
  const r = await capture(() =>
    main(["x", "a"], [command((ctx) => {
      seen = { root: ctx.root, cwd: ctx.cwd, args: ctx.args };
      return Promise.resolve(7);
    })])
  );
  assert.equal(r.code, 7);
  assert.deepEqual(seen, { root: repoRoot(), cwd: Deno.cwd(), args: ["a"] });
  assert.ok(Deno.statSync(`${repoRoot()}/cli/main.ts`).isFile);
});

Deno.test("main() prints a CliError as one skiff: line and exits with its code", async () => {
  const r = await capture(() =>
    main(["x"], [command(() => Promise.reject(new CliError("it broke; do this", 3)))])
  );
  assert.deepEqual(r, { code: 3, out: [], err: ["skiff: it broke; do this"] });
});

Deno.test("main() prints a usage error in one line and returns 2", async () => {
  const r = await capture(() => main(["y"], [command(() => Promise.resolve(0))]));
  assert.deepEqual(r, { code: 2, out: [], err: [`skiff: unknown command "y"; see ./skiff help`] });
});

Deno.test("main() lets a bug propagate with its stack", async () => {
  await assert.rejects(main(["x"], [command(() => Promise.reject(new TypeError("bug")))]), TypeError);
});
