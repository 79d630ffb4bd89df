import assert from "node:assert/strict";
import { formatEntry, parseEntry, parseTime, rfc3339Nano } from "./cri_format.ts";
import { CriLogWriter } from "./cri_log_writer.ts";
import { LogRenderer, parseLines, readLogs } from "./log_reader.ts";

const enc = new TextEncoder();

async function tmp(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir();
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

Deno.test("rfc3339Nano() and parseEntry() round-trip a CRI line", () => {
  assert.equal(rfc3339Nano(Date.UTC(2024, 0, 2, 3, 4, 5, 678), 9), "2024-01-02T03:04:05.678000009Z");
  const line = formatEntry(Date.UTC(2024, 0, 2), "stderr", "P", "half a line").trimEnd();
  assert.deepEqual(parseEntry(line), {
    time: "2024-01-02T00:00:00.000000000Z",
    ms: Date.UTC(2024, 0, 2),
    stream: "stderr",
    partial: true,
    content: "half a line",
  });
  assert.equal(parseEntry("garbage"), undefined);
  assert.equal(parseTime("2024-01-02T00:00:00.5Z"), Date.UTC(2024, 0, 2, 0, 0, 0, 500));
});

Deno.test("CriLogWriter writes full lines as F and cut lines as P", async () => {
  await using t = await tmp();
  let now = Date.UTC(2024, 0, 1);
  const w = await CriLogWriter.open(`${t.dir}/0.log`, { maxLineBytes: 8, now: () => now });
  w.write("stdout", enc.encode("hello\nwor"));
  w.write("stderr", enc.encode("oops\n"));
  w.write("stdout", enc.encode("ld\n0123456789abc"));
  now += 1;
  w.close();
  const lines = (await Deno.readTextFile(`${t.dir}/0.log`)).trimEnd().split("\n").map((l) => parseEntry(l)!);
  assert.deepEqual(lines.map((e) => [e.stream, e.partial ? "P" : "F", e.content]), [
    ["stdout", "F", "hello"],
    ["stderr", "F", "oops"],
    ["stdout", "F", "world"],
    ["stdout", "P", "01234567"],
    ["stdout", "P", "89abc"],
  ]);
  // Entries within one millisecond still sort by time.
  const times = lines.map((e) => e.time);
  assert.deepEqual([...times].sort(), times);
});

Deno.test("CriLogWriter rotates past maxBytes and keeps maxFiles files", async () => {
  await using t = await tmp();
  let now = Date.UTC(2024, 0, 1);
  const w = await CriLogWriter.open(`${t.dir}/0.log`, {
    maxBytes: 200,
    maxFiles: 3,
    now: () => (now += 1000),
  });
  for (let i = 0; i < 40; i++) w.write("stdout", enc.encode(`line ${i}\n`));
  w.close();
  const names = [...Deno.readDirSync(t.dir)].map((e) => e.name).sort();
  assert.equal(names.length, 3, names.join(","));
  assert.ok(names.includes("0.log"));
  assert.ok((await Deno.stat(`${t.dir}/0.log`)).size <= 200);
  assert.match(await Deno.readTextFile(`${t.dir}/0.log`), /line 39/);
});

Deno.test("LogRenderer joins partial entries, prefixes timestamps once per line, and honours since and limitBytes", () => {
  const text = [
    formatEntry(1000, "stdout", "F", "old"),
    formatEntry(2000, "stdout", "P", "par"),
    formatEntry(2001, "stdout", "F", "tial"),
    formatEntry(3000, "stderr", "F", "last"),
  ].join("");
  const { entries, rest } = parseLines(text + "2024-01-01T00:00:00Z stdout F incomple");
  assert.equal(rest, "2024-01-01T00:00:00Z stdout F incomple");
  const dec = new TextDecoder();
  assert.equal(dec.decode(new LogRenderer({}).render(entries)), "old\npartial\nlast\n");
  assert.equal(
    dec.decode(new LogRenderer({ timestamps: true, sinceMs: 1500 }).render(entries)),
    `${rfc3339Nano(2000)} partial\n${rfc3339Nano(3000)} last\n`,
  );
  const limited = new LogRenderer({ limitBytes: 6 });
  assert.equal(dec.decode(limited.render(entries)), "old\npa");
  assert.ok(limited.done);
});

Deno.test("readLogs() returns the last tailLines entries", async () => {
  await using t = await tmp();
  const w = await CriLogWriter.open(`${t.dir}/0.log`);
  for (let i = 1; i <= 5; i++) w.write("stdout", enc.encode(`n${i}\n`));
  w.close();
  assert.equal(await collect(readLogs(`${t.dir}/0.log`, { tailLines: 2 })), "n4\nn5\n");
  assert.equal(await collect(readLogs(`${t.dir}/0.log`, { tailLines: 0 })), "");
  assert.equal(await collect(readLogs(`${t.dir}/missing.log`, {})), "");
});

Deno.test("readLogs() with follow streams new lines and ends when the container stops", async () => {
  await using t = await tmp();
  const path = `${t.dir}/0.log`;
  const w = await CriLogWriter.open(path);
  w.write("stdout", enc.encode("first\n"));
  let running = true;
  const reader = readLogs(path, { follow: true }, { running: () => running, recheckMs: 50 })
    .pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await reader.read()).value, "first\n");
  w.write("stdout", enc.encode("second\n"));
  assert.equal((await reader.read()).value, "second\n");
  w.write("stdout", enc.encode("third\n"));
  w.close();
  running = false;
  let rest = "";
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value;
  assert.equal(rest, "third\n");
});

Deno.test("readLogs() with follow switches to the new file after rotation", async () => {
  await using t = await tmp();
  const path = `${t.dir}/0.log`;
  let now = Date.UTC(2024, 0, 1);
  const w = await CriLogWriter.open(path, { maxBytes: 120, now: () => (now += 1000) });
  w.write("stdout", enc.encode("a\n"));
  let running = true;
  const reader = readLogs(path, { follow: true }, { running: () => running, recheckMs: 30 })
    .pipeThrough(new TextDecoderStream()).getReader();
  let seen = (await reader.read()).value!;
  // One line at a time (each rotation seen before the next: like the kubelet, a reader that
  // falls more than one rotation behind loses the files in between).
  for (let i = 0; i < 6; i++) {
    w.write("stdout", enc.encode(`rotating ${i}\n`));
    while (!seen.includes(`rotating ${i}`)) seen += (await reader.read()).value;
  }
  assert.ok([...Deno.readDirSync(t.dir)].length > 1, "the file rotated");
  running = false;
  w.close();
  for (let r = await reader.read(); !r.done; r = await reader.read()) seen += r.value;
  assert.equal(seen, "a\n" + [0, 1, 2, 3, 4, 5].map((i) => `rotating ${i}\n`).join(""));
});

Deno.test("readLogs() stops following when the reader cancels", async () => {
  await using t = await tmp();
  const path = `${t.dir}/0.log`;
  await Deno.writeTextFile(path, formatEntry(0, "stdout", "F", "x"));
  const stream = readLogs(path, { follow: true }, { running: () => true, recheckMs: 20 });
  const reader = stream.getReader();
  await reader.read();
  await reader.cancel();
});
