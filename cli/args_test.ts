import assert from "node:assert/strict";
import { type Command, parseArgs } from "./args.ts";

function command(name: string, extra: Partial<Command> = {}): Command {
  return {
    name,
    summary: name,
    flags: [],
    args: "none",
    packages: [],
    run: () => Promise.resolve(0),
    ...extra,
  };
}

const up = command("up", {
  flags: [
    { name: "data-dir", type: "string", value: "DIR", default: "./.skiff", description: "d" },
    { name: "port", type: "number", value: "N", default: 6443, max: 65535, description: "p" },
    { name: "no-node", type: "boolean", description: "n" },
  ],
});
const test = command("test", { args: "passthrough", flags: [] });
const help = command("help", { args: "positional" });
const version = command("version");
const table = [up, test, help, version];

function run(argv: string[]) {
  const r = parseArgs(argv, table);
  assert.equal(r.kind, "run", JSON.stringify(r));
  return r as Extract<typeof r, { kind: "run" }>;
}

function error(argv: string[]): string {
  const r = parseArgs(argv, table);
  assert.equal(r.kind, "error", JSON.stringify(r));
  return (r as { message: string }).message;
}

Deno.test("parseArgs() fills in flag defaults when no flag is given", () => {
  const r = run(["up"]);
  assert.equal(r.command, up);
  assert.deepEqual(r.flags, { "data-dir": "./.skiff", port: 6443, "no-node": false });
  assert.deepEqual(r.args, []);
});

Deno.test("parseArgs() reads --flag value, --flag=value and boolean flags", () => {
  assert.deepEqual(run(["up", "--data-dir", "x", "--port=0", "--no-node"]).flags, {
    "data-dir": "x",
    port: 0,
    "no-node": true,
  });
  assert.equal(run(["up", "--port", "8080"]).flags.port, 8080);
});

Deno.test("parseArgs() reports an unknown command in one line pointing at help", () => {
  assert.equal(error(["nope"]), `skiff: unknown command "nope"; see ./skiff help`);
  assert.equal(error(["--nope"]), `skiff: unknown flag --nope; see ./skiff help`);
});

Deno.test("parseArgs() reports an unknown flag naming the command", () => {
  assert.equal(error(["up", "--foo"]), `skiff: unknown flag --foo for "up"; see ./skiff up --help`);
  assert.equal(error(["up", "--foo=1"]), `skiff: unknown flag --foo for "up"; see ./skiff up --help`);
  assert.equal(error(["up", "-x"]), `skiff: unknown flag -x for "up"; see ./skiff up --help`);
});

Deno.test("parseArgs() reports a missing flag value, also when another flag follows", () => {
  assert.equal(error(["up", "--port"]), `skiff: flag --port for "up" needs a value; see ./skiff up --help`);
  assert.equal(
    error(["up", "--data-dir", "--no-node"]),
    `skiff: flag --data-dir for "up" needs a value; see ./skiff up --help`,
  );
  assert.equal(
    error(["up", "--data-dir="]),
    `skiff: flag --data-dir for "up" needs a value; see ./skiff up --help`,
  );
});

Deno.test("parseArgs() rejects numbers that are not integers in range", () => {
  for (const bad of ["x", "-1", "1.5", "70000", ""]) {
    assert.match(
      error(["up", `--port=${bad}`]),
      /flag --port for "up" needs (an integer from 0 to 65535|a value)/,
    );
  }
});

Deno.test("parseArgs() rejects a value given to a boolean flag and stray arguments", () => {
  assert.match(error(["up", "--no-node=true"]), /flag --no-node for "up" takes no value/);
  assert.match(error(["up", "stray"]), /unexpected argument "stray" for "up"/);
  assert.match(error(["version", "--", "x"]), /unexpected argument "x" for "version"/);
});

Deno.test("parseArgs() returns a help request for --help anywhere, and for no arguments", () => {
  assert.deepEqual(parseArgs([], table), { kind: "help" });
  assert.deepEqual(parseArgs(["--help"], table), { kind: "help" });
  assert.deepEqual(parseArgs(["-h"], table), { kind: "help" });
  assert.deepEqual(parseArgs(["up", "--port", "1", "--help"], table), { kind: "help", command: up });
  assert.deepEqual(parseArgs(["test", "-h"], table), { kind: "help", command: test });
});

Deno.test("parseArgs() maps --version to the version command", () => {
  assert.equal(run(["--version"]).command, version);
});

Deno.test("parseArgs() passes unknown flags and arguments of a pass-through command through in order", () => {
  assert.deepEqual(run(["test", "control/store", "--filter", "x", "--fail-fast", "--", "--help"]).args, [
    "control/store",
    "--filter",
    "x",
    "--fail-fast",
    "--",
    "--help",
  ]);
});

Deno.test("parseArgs() collects positional arguments of a positional command", () => {
  assert.deepEqual(run(["help", "up"]).args, ["up"]);
});

Deno.test("parseArgs() finds a two-word command by both words or by its hyphenated name", () => {
  const join = command("node join");
  const node = command("node");
  const t = [node, join];
  for (const argv of [["node", "join", "--x"], ["node-join", "--x"]]) {
    const parsed = parseArgs(argv, t);
    assert.equal(parsed.kind, "error");
    if (parsed.kind === "error") assert.match(parsed.message, /for "node join"; see \.\/skiff node join --help/);
  }
  const bare = parseArgs(["node", "--x"], t);
  assert.ok(bare.kind === "error" && /for "node";/.test(bare.message));
});

