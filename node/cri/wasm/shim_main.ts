/**
 * The sandbox shim, as containerd's runtime shims: a small process between the node agent and one
 * Wasm sandbox. It runs the sandbox through `wasm/sandbox/client.ts` (which owns the sandbox IPC,
 * kills it when a guest stops yielding, and classifies how containers end), so the sandbox — and
 * the pods in it — outlive an agent restart. It writes the containers' CRI log files itself (logs
 * keep flowing while the agent is away) and records every container's state in `shim.json`, so a
 * new agent can reconnect to `shim.sock` (or, if the shim is gone, read what happened). It exits
 * once the sandbox has ended.
 *
 * Usage (by shim_client.ts): `deno run -A node/cri/wasm/shim_main.ts '<ShimConfig JSON>'`.
 * @module
 */
import type { ContainerExit } from "../../../wasm/host/spec.ts";
import { Sandbox } from "../../../wasm/sandbox/client.ts";
import { CriLogWriter } from "../../logs/cri_log_writer.ts";
import {
  encode,
  JsonLines,
  type ShimCommand,
  type ShimConfig,
  type ShimEvent,
  type ShimState,
  SOCKET,
  STATE,
} from "./shim_protocol.ts";

const config = JSON.parse(Deno.args[0]) as ShimConfig;
const enc = new TextEncoder();
const logFile = Deno.openSync(`${config.dir}/shim.log`, { append: true, create: true });
const sandboxLog = Deno.openSync(`${config.dir}/sandbox.log`, { append: true, create: true });
const log = (msg: string) => logFile.writeSync(enc.encode(`${new Date().toISOString()} ${msg}\n`));

// The agent decides when this shim ends; a terminal's Ctrl-C or hang-up must not end it.
Deno.addSignalListener("SIGINT", () => {});
Deno.addSignalListener("SIGHUP", () => {});

function startTime(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
  } catch {
    return 0;
  }
}

const state: ShimState = { shimPid: Deno.pid, shimStartTime: startTime(Deno.pid), containers: {} };
const logs = new Map<string, CriLogWriter>();
let agent: Deno.UnixConn | null = null;
let persistTimer: ReturnType<typeof setTimeout> | undefined;

function persistNow() {
  clearTimeout(persistTimer);
  persistTimer = undefined;
  const tmp = `${config.dir}/${STATE}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(state));
  Deno.renameSync(tmp, `${config.dir}/${STATE}`);
}

/** Container starts and exits are written within 50 ms, batched. */
function persist() {
  persistTimer ??= setTimeout(persistNow, 50);
}

let agentQueue = Promise.resolve();
function toAgent(e: ShimEvent) {
  const conn = agent;
  if (!conn) return;
  const bytes = enc.encode(encode(e));
  agentQueue = agentQueue.then(async () => {
    for (let o = 0; o < bytes.length;) o += await conn.write(bytes.subarray(o));
  }).catch(() => {
    if (agent === conn) agent = null;
  });
}

function finish(id: string, exit: ContainerExit) {
  const c = state.containers[id];
  if (!c || c.state === "exited") return;
  c.state = "exited";
  c.finishedAt = Date.now();
  c.exit = exit;
  logs.get(id)?.close();
  logs.delete(id);
  persist();
  toAgent({ ev: "exit", id, exit, at: c.finishedAt });
}

let sandbox: Sandbox;
try {
  sandbox = await Sandbox.start({
    ...config.sandbox,
    onOutput: (id, stream, bytes) => logs.get(id)?.write(stream, bytes),
    onExit: (id, exit) => finish(id, exit),
    onLog: (line) => sandboxLog.writeSync(enc.encode(line + "\n")),
  });
} catch (e) {
  log(`the sandbox did not start: ${(e as Error).message}`);
  state.sandboxExit = { code: 1, signal: null, at: Date.now(), reason: (e as Error).message };
  persistNow();
  Deno.exit(1);
}
state.sandboxPid = sandbox.pid;
persistNow();
log(`sandbox ${sandbox.name} started: pid ${sandbox.pid}, limits ${JSON.stringify(sandbox.limits)}`);

async function start(cmd: Extract<ShimCommand, { op: "start" }>) {
  const id = cmd.spec.id;
  const existing = state.containers[id];
  if (existing && existing.state !== "exited") return;
  state.containers[id] = { state: "starting" };
  try {
    logs.set(id, await CriLogWriter.open(cmd.logPath));
    await sandbox.startContainer(cmd.spec);
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    state.containers[id] = { state: "exited", startError: message, finishedAt: Date.now() };
    logs.get(id)?.close();
    logs.delete(id);
    persist();
    toAgent({ ev: "start-failed", id, message });
    return;
  }
  const c = state.containers[id];
  if (c.state === "exited") {
    // It ended before this continuation ran: the sandbox's "started" and "exit" came in one read
    // (a quick command, a busy machine), so its exit went out first. It did start: say so, or the
    // agent's start would wait for "started" forever.
    c.startedAt ??= c.finishedAt;
    persist();
    toAgent({ ev: "started", id, at: c.startedAt ?? Date.now() });
    return;
  }
  c.state = "running";
  c.startedAt = Date.now();
  persist();
  toAgent({ ev: "started", id, at: c.startedAt });
}

function onAgentCommand(cmd: ShimCommand) {
  switch (cmd.op) {
    case "start":
      start(cmd).catch((e) => log(`start of ${cmd.spec.id} failed: ${e}`));
      return;
    case "stop":
      if (state.containers[cmd.id] && state.containers[cmd.id].state !== "exited") {
        sandbox.stopContainer(cmd.id, cmd.graceMs).catch(() => {});
      }
      return;
    case "snapshot":
      toAgent({ ev: "snapshot", state });
      return;
    case "kill":
      sandbox.kill().catch(() => {});
      return;
    case "shutdown":
      sandbox.shutdown().catch(() => {});
      return;
  }
}

async function serveAgents(listener: Deno.Listener<Deno.UnixConn>) {
  for await (const conn of listener) {
    agent?.close();
    agent = conn;
    (async () => {
      const lines = new JsonLines<ShimCommand>();
      try {
        for await (const chunk of conn.readable) for (const cmd of lines.push(chunk)) onAgentCommand(cmd);
      } catch { /* the agent went away */ }
      if (agent === conn) agent = null;
    })();
  }
}

try {
  Deno.removeSync(`${config.dir}/${SOCKET}`);
} catch { /* none */ }
const listener = Deno.listen({ transport: "unix", path: `${config.dir}/${SOCKET}` });
serveAgents(listener).catch(() => {});
const ended = await sandbox.exited;
for (const [id, c] of Object.entries(state.containers)) {
  if (c.state !== "exited") {
    finish(id, { exitCode: 137, reason: "SandboxLost", collateral: true, message: ended.message });
  }
}
state.sandboxExit = { code: ended.code, signal: ended.signal, at: Date.now(), reason: ended.reason };
persistNow();
log(`sandbox exited: ${ended.reason} (code ${ended.code}, signal ${ended.signal}) ${ended.message ?? ""}`);
toAgent({
  ev: "sandbox-exit",
  code: ended.code,
  signal: ended.signal,
  at: state.sandboxExit.at,
  reason: ended.reason,
});
await agentQueue;
listener.close();
(agent as Deno.UnixConn | null)?.close();
Deno.exit(0);
