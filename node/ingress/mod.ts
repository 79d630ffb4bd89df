/**
 * The Ingress controller (the Ingress Controller add-on): serves the networking.k8s.io/v1
 * Ingresses of the IngressClass `skiff` (controller `skiff.dev/ingress-controller`, created as
 * the default class when missing) on the node's address, on configurable HTTP and HTTPS ports.
 *
 * It owns an Ingress whose `spec.ingressClassName` is `skiff`, or whose legacy annotation
 * `kubernetes.io/ingress.class` is `skiff`, or that names no class while `skiff` is the default
 * class. Routes (routes.ts) are rebuilt on every Ingress event; requests go straight to the ready
 * endpoints of the backend Service (round-robin), as ingress-nginx does; TLS certificates come
 * from `kubernetes.io/tls` Secrets named in `spec.tls`, chosen by SNI. It writes the node's
 * address into `status.loadBalancer` (with the ports when they are not 80/443).
 * @module
 */
import tls from "node:tls";
import { Buffer } from "node:buffer";
import type { Client, ResourceRef } from "../../control/api/client.ts";
import type { Informer } from "../../control/api/informer.ts";
import { isApiError } from "../../control/api/status.ts";
import type { KubeObject } from "../../control/api/types.ts";
import { type Backend, buildRoutes, route, type RouteTable, tlsSecretFor } from "./routes.ts";
import { IngressServer, type Pick } from "./server.ts";

export { buildRoutes, route } from "./routes.ts";
export { IngressServer } from "./server.ts";

export const INGRESS_CLASS = "skiff";
export const INGRESS_CONTROLLER = "skiff.dev/ingress-controller";
const CLASS_ANNOTATION = "kubernetes.io/ingress.class";
const DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class";

const ref = (plural: string, namespaced = true): ResourceRef => ({
  group: "networking.k8s.io",
  version: "v1",
  plural,
  namespaced,
});
export const NET = { ingresses: ref("ingresses"), ingressclasses: ref("ingressclasses", false) };

export interface IngressControllerOptions {
  client: Client;
  ingresses: Informer<KubeObject>;
  ingressClasses: Informer<KubeObject>;
  services: Informer<KubeObject>;
  slices: Informer<KubeObject>;
  /** `kubernetes.io/tls` Secrets. */
  secrets: Informer<KubeObject>;
  /** Where to listen (the node's address). */
  hostname: string;
  /** The address written into `status.loadBalancer` (default: `hostname`). */
  statusAddress?: string;
  /** HTTP port (undefined: none; 0 picks one). */
  httpPort?: number;
  /** HTTPS port (undefined: none; 0 picks one). */
  httpsPort?: number;
  /** Class name (default `skiff`). */
  className?: string;
  log?: (line: string) => void;
}

/**
 * Creates the IngressClass unless it exists (as the default class). `./skiff up` does it as the
 * admin; the controller only checks (its role may read classes, not create them).
 */
export async function ensureIngressClass(client: Client, name = INGRESS_CLASS): Promise<void> {
  try {
    await client.get(NET.ingressclasses, "", name);
    return;
  } catch (e) {
    if (!isApiError(e, 404)) throw e;
  }
  try {
    await client.create(NET.ingressclasses, {
      apiVersion: "networking.k8s.io/v1",
      kind: "IngressClass",
      metadata: { name, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" } },
      spec: { controller: INGRESS_CONTROLLER },
    });
  } catch (e) {
    if (!isApiError(e, 409)) throw e;
  }
}

export class IngressController implements AsyncDisposable {
  readonly opts: IngressControllerOptions;
  readonly server: IngressServer;
  #routes: RouteTable = buildRoutes([]);
  #rr = new Map<string, number>();
  #contexts = new Map<string, { rv: string; ctx?: tls.SecureContext }>();
  #statusRunning?: Promise<void>;
  #statusDirty = false;
  #stopped = false;

  private constructor(opts: IngressControllerOptions, server: IngressServer) {
    this.opts = opts;
    this.server = server;
  }

  get className(): string {
    return this.opts.className ?? INGRESS_CLASS;
  }

  /** Whether this controller serves `ing`. */
  owns(ing: KubeObject): boolean {
    const cls = ing.spec?.ingressClassName;
    if (cls) return cls === this.className;
    const legacy = ing.metadata.annotations?.[CLASS_ANNOTATION];
    if (legacy) return legacy === this.className;
    const mine = this.opts.ingressClasses.get(undefined, this.className);
    return mine?.spec?.controller === INGRESS_CONTROLLER &&
      mine.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true";
  }

  static async start(opts: IngressControllerOptions): Promise<IngressController> {
    const log = opts.log ?? ((l: string) => console.error(l));
    await ensureIngressClass(opts.client, opts.className ?? INGRESS_CLASS).catch((e) =>
      log(`ingress: could not create the IngressClass: ${(e as Error).message}`)
    );
    let self: IngressController | undefined;
    const server = await IngressServer.start({
      hostname: opts.hostname,
      httpPort: opts.httpPort,
      httpsPort: opts.httpsPort,
      route: (host, path) => self ? route(self.#routes, host, path) : undefined,
      pick: (b) => self ? self.#pick(b) : { error: "no-service" },
      sni: (name) => (self ? self.#sni(name) : undefined),
    });
    self = new IngressController(opts, server);
    const c = self;
    const rebuild = () => c.#rebuild();
    opts.ingresses.addHandler({ onAdd: rebuild, onUpdate: rebuild, onDelete: rebuild });
    opts.ingressClasses.addHandler({ onAdd: rebuild, onUpdate: rebuild, onDelete: rebuild });
    c.#rebuild();
    return c;
  }

  #rebuild(): void {
    if (this.#stopped) return;
    this.#routes = buildRoutes(this.opts.ingresses.list().filter((i) => this.owns(i)));
    this.#scheduleStatus();
  }

  /** An endpoint of the backend's Service: ready ones round-robin, else serving-terminating ones. */
  #pick(b: Backend): Pick {
    const svc = this.opts.services.get(b.namespace, b.service);
    if (!svc) return { error: "no-service" };
    if (svc.spec?.type === "ExternalName") return { error: "unsupported" };
    const sp = (svc.spec?.ports ?? []).find((p: { port: number; name?: string }) =>
      typeof b.port === "number" ? p.port === b.port : p.name === b.port
    );
    if (!sp || (sp.protocol ?? "TCP") !== "TCP") return { error: "no-service" };
    const ready: { ip: string; port: number }[] = [];
    const draining: { ip: string; port: number }[] = [];
    for (const s of this.opts.slices.list(b.namespace)) {
      if (s.metadata.labels?.["kubernetes.io/service-name"] !== b.service) continue;
      const port = (s.ports ?? []).find((p: { name?: string; protocol?: string }) =>
        (p.name ?? "") === (sp.name ?? "") && (p.protocol ?? "TCP") === "TCP"
      )?.port;
      if (!port) continue;
      for (const e of s.endpoints ?? []) {
        const c = e.conditions ?? {};
        for (const ip of e.addresses ?? []) {
          if (c.ready !== false) ready.push({ ip, port });
          else if (c.serving && c.terminating) draining.push({ ip, port });
        }
      }
    }
    const eps = ready.length ? ready : draining;
    if (!eps.length) return { error: "no-endpoints" };
    const key = `${b.namespace}/${b.service}/${sp.port}`;
    const n = this.#rr.get(key) ?? 0;
    this.#rr.set(key, n + 1);
    return eps[n % eps.length];
  }

  #sni(name: string): tls.SecureContext | undefined {
    const key = tlsSecretFor(this.#routes, name);
    if (!key) return undefined;
    const [ns, secretName] = key.split("/");
    const secret = this.opts.secrets.get(ns, secretName);
    if (!secret?.data?.["tls.crt"] || !secret.data["tls.key"]) return undefined;
    const rv = secret.metadata.resourceVersion ?? "";
    const cached = this.#contexts.get(key);
    if (cached?.rv === rv) return cached.ctx;
    let ctx: tls.SecureContext | undefined;
    try {
      ctx = tls.createSecureContext({
        cert: Buffer.from(secret.data["tls.crt"], "base64").toString(),
        key: Buffer.from(secret.data["tls.key"], "base64").toString(),
      });
    } catch (e) {
      (this.opts.log ?? console.error)(`ingress: the certificate in Secret ${key} is unusable: ${(e as Error).message}`);
    }
    this.#contexts.set(key, { rv, ctx });
    return ctx;
  }

  /** Our entry of `status.loadBalancer.ingress`. */
  #lbEntry(): Record<string, unknown> {
    const ip = this.opts.statusAddress ?? this.opts.hostname;
    const ports = [
      ...(this.server.httpPort !== undefined && this.server.httpPort !== 80
        ? [{ port: this.server.httpPort, protocol: "TCP" }]
        : []),
      ...(this.server.httpsPort !== undefined && this.server.httpsPort !== 443
        ? [{ port: this.server.httpsPort, protocol: "TCP" }]
        : []),
    ];
    return { ip, ...(ports.length ? { ports } : {}) };
  }

  #scheduleStatus(): void {
    if (this.#statusRunning) {
      this.#statusDirty = true;
      return;
    }
    this.#statusRunning = (async () => {
      do {
        this.#statusDirty = false;
        await this.#updateStatuses();
      } while (this.#statusDirty && !this.#stopped);
    })().finally(() => (this.#statusRunning = undefined));
  }

  async #updateStatuses(): Promise<void> {
    const mine = this.#lbEntry();
    for (const ing of this.opts.ingresses.list()) {
      if (this.#stopped || !this.owns(ing)) continue;
      const current: Record<string, unknown>[] = ing.status?.loadBalancer?.ingress ?? [];
      const others = current.filter((e) => e.ip !== mine.ip);
      const want = [...others, mine].sort((a, b) => String(a.ip).localeCompare(String(b.ip)));
      if (JSON.stringify(want) === JSON.stringify(current)) continue;
      try {
        await this.opts.client.patch(
          NET.ingresses,
          ing.metadata.namespace!,
          ing.metadata.name!,
          { status: { loadBalancer: { ingress: want } } },
          "merge",
          "status",
        );
      } catch (e) {
        if (!isApiError(e, 404)) {
          (this.opts.log ?? console.error)(
            `ingress: updating the status of ${ing.metadata.namespace}/${ing.metadata.name} failed: ${(e as Error).message}`,
          );
        }
      }
    }
  }

  async close(): Promise<void> {
    this.#stopped = true;
    await this.#statusRunning;
    await this.server.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Starts the controller. */
export function startIngressController(opts: IngressControllerOptions): Promise<IngressController> {
  return IngressController.start(opts);
}
