import assert from "node:assert/strict";
import { COMMANDS } from "./commands.ts";
import { formatCommandHelp, formatHelp } from "./help.ts";

Deno.test("formatHelp() names every visible command and every one of its flags", () => {
  const text = formatHelp(COMMANDS);
  for (const c of COMMANDS.filter((c) => !c.hidden)) {
    assert.match(text, new RegExp(`^  ${c.name}\\b`, "m"), c.name);
    assert.ok(text.includes(c.summary), c.summary);
    for (const f of c.flags) assert.ok(text.includes(`--${f.name}`), `${c.name} --${f.name}`);
  }
});

Deno.test("formatCommandHelp() shows the synopsis, each flag with its default, and --help", () => {
  const up = COMMANDS.find((c) => c.name === "up")!;
  const text = formatCommandHelp(up);
  assert.match(text, /^Usage: \.\/skiff up \[flags\]$/m);
  assert.match(text, /^ {2}--data-dir DIR +.*\(default: \.\/\.skiff\)\.$/m);
  assert.match(text, /^ {2}--port N +.*\(default: 6443\)\.$/m);
  assert.match(text, /^ {2}--no-node +Run the control plane only/m);
  assert.match(text, /^ {2}-h, --help +Show this help\.$/m);
});

Deno.test("formatCommandHelp() lists the Debian packages a command needs", () => {
  const up = COMMANDS.find((c) => c.name === "up")!;
  assert.match(formatCommandHelp({ ...up, packages: ["crun", "conmon"] }), /Debian packages crun, conmon/);
  assert.doesNotMatch(formatCommandHelp({ ...up, packages: [] }), /Debian packages/);
});

Deno.test("every command name is unique and every flag name is unique within its command", () => {
  assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length);
  for (const c of COMMANDS) assert.equal(new Set(c.flags.map((f) => f.name)).size, c.flags.length, c.name);
});
