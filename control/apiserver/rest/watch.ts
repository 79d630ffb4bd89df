/**
 * WATCH: a chunked stream of `{"type": ..., "object": ...}` events (JSON lines, or a CBOR
 * sequence), optionally as one-row Tables, ending after `timeoutSeconds` or when the client leaves.
 * @module
 */
import { parseLabelSelector } from "../../api/selector.ts";
import { badRequest } from "../../api/status.ts";
import type { KubeObject, WatchEvent } from "../../api/types.ts";
import type { RequestContext } from "../context.ts";
import { encodeFrame, watchContentType } from "../negotiate.ts";
import type { ApiServer } from "../server.ts";
import { fieldSelectorFor } from "./read.ts";
import { headers, partialMetadata, toTable, withTypeMeta } from "./response.ts";
import { concatFrames, jsonEventFrame } from "./watch_frame.ts";

/** Upstream's default watch timeout is a random duration between the minimum request timeout and twice it. */
const MIN_REQUEST_TIMEOUT_S = 1800;

function timeoutMs(raw: string | null): number {
  if (raw === null || raw === "") return (MIN_REQUEST_TIMEOUT_S + Math.random() * MIN_REQUEST_TIMEOUT_S) * 1000;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw badRequest(`timeoutSeconds: Invalid value: "${raw}": must be a non-negative integer`);
  return n * 1000;
}

export function watchObjects(server: ApiServer, ctx: RequestContext): Response {
  const { served, info, query, format } = ctx;
  const def = served.def;
  let fieldSelector = fieldSelectorFor(def, query.get("fieldSelector"));
  if (info.name) fieldSelector = [...fieldSelector, { field: "metadata.name", operator: "=", value: info.name }];
  const labelSelector = parseLabelSelector(query.get("labelSelector"));
  const timeout = timeoutMs(query.get("timeoutSeconds"));
  const abort = new AbortController();
  const events = server.hub.watchBatches(served.store, {
    namespace: def.namespaced && info.namespace ? info.namespace : undefined,
    labelSelector,
    fieldSelector,
    resourceVersion: query.get("resourceVersion") ?? undefined,
    allowBookmarks: ["true", "1"].includes(query.get("allowWatchBookmarks") ?? ""),
    signal: abort.signal,
  });
  const encoding = format.encoding === "yaml" ? "json" : format.encoding;
  const include = query.get("includeObject");
  let columnsSent = false;
  const shape = (ev: WatchEvent): unknown => {
    if (ev.type === "ERROR") return ev;
    if (ev.type === "BOOKMARK") {
      return { type: "BOOKMARK", object: { kind: def.kind, apiVersion: served.apiVersion, metadata: ev.object.metadata } };
    }
    const obj = withTypeMeta(ev.object as KubeObject, served.apiVersion, def.kind);
    if (format.shape === "table") {
      const table = toTable(def, [obj], {
        resourceVersion: obj.metadata.resourceVersion,
        include,
        columns: !columnsSent,
        now: server.now(),
      });
      columnsSent = true;
      return { type: ev.type, object: table };
    }
    if (format.shape === "metadata") return { type: ev.type, object: partialMetadata(obj) };
    return { type: ev.type, object: obj };
  };
  const frameOf = (ev: WatchEvent): Uint8Array => {
    if (encoding === "json" && format.shape === "object" && (ev.type === "ADDED" || ev.type === "MODIFIED" || ev.type === "DELETED")) {
      // Fast path: the frame's bytes, encoded once per stored version and shared by every watcher.
      return jsonEventFrame(ev.type, withTypeMeta(ev.object as KubeObject, served.apiVersion, def.kind));
    }
    return encodeFrame(shape(ev), encoding);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stop = () => {
    clearTimeout(timer);
    abort.abort();
  };
  // A client that goes away cancels the stream (request.signal is not used: with Deno.serve's
  // legacy behaviour it also aborts on successful responses).
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    start() {
      timer = setTimeout(stop, timeout);
    },
    async pull(controller) {
      try {
        const next = await events.next();
        if (cancelled) return;
        if (next.done) {
          stop();
          controller.close();
          return;
        }
        // Everything queued for this watcher goes out as one chunk (one write to the socket).
        controller.enqueue(concatFrames(next.value.map(frameOf)));
      } catch (e) {
        stop();
        if (cancelled) return;
        // The consumer went away without cancelling (the connection closed): nothing to report.
        const gone = e instanceof TypeError && /cannot close or enqueue/.test(e.message);
        if (!gone) console.error("watch stream failed:", e);
        try {
          controller.close();
        } catch { /* already closed */ }
      }
    },
    async cancel() {
      cancelled = true;
      stop();
      await events.return(undefined);
    },
  });
  return new Response(body, { status: 200, headers: headers(ctx, watchContentType(encoding)) });
}
