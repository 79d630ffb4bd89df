/**
 * Container validation as upstream's `validateContainerCommon`, `validateContainers` and
 * `validateInitContainers`: names, image, ports, env, volume mounts, pull and termination
 * policies, probes and resource requirements (requests <= limits).
 * @module
 */
// deno-lint-ignore-file no-explicit-any
import { fieldError, type StatusCause } from "../../api/status.ts";
import { notFoundCause } from "./causes.ts";
import { isDNS1123Label, isEnvVarName, isQualifiedName, isValidPortName, isValidPortNum } from "./names.ts";
import {
  compareQuantities,
  formatQuantity,
  isWholeQuantity,
  parseQuantity,
  QUANTITY_FORMAT_ERROR,
  quantitySign,
} from "./quantity.ts";

type Obj = Record<string, any>;
const arr = (v: unknown): any[] => (Array.isArray(v) ? v : []);

/** Upstream's supported port protocols, sorted. */
export const PROTOCOLS = ["SCTP", "TCP", "UDP"];

/** `ValidateDNS1123Label` on a path. */
export function dns1123Label(value: string, path: string): StatusCause[] {
  return isDNS1123Label(value).map((msg) => fieldError.invalid(path, value, msg));
}

function validatePorts(ports: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const names = new Set<string>();
  arr(ports).forEach((p: Obj, i) => {
    const at = `${path}[${i}]`;
    if (p?.name) {
      const msgs = isValidPortName(p.name);
      for (const msg of msgs) errs.push(fieldError.invalid(`${at}.name`, p.name, msg));
      if (msgs.length === 0) {
        if (names.has(p.name)) errs.push(fieldError.duplicate(`${at}.name`, p.name));
        else names.add(p.name);
      }
    }
    if (!p?.containerPort) errs.push(fieldError.required(`${at}.containerPort`));
    else {for (const msg of isValidPortNum(p.containerPort)) {
        errs.push(fieldError.invalid(`${at}.containerPort`, p.containerPort, msg));
      }}
    if (p?.hostPort) {
      for (const msg of isValidPortNum(p.hostPort)) {
        errs.push(fieldError.invalid(`${at}.hostPort`, p.hostPort, msg));
      }
    }
    if (!p?.protocol) errs.push(fieldError.required(`${at}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) {
      errs.push(fieldError.notSupported(`${at}.protocol`, p.protocol, PROTOCOLS));
    }
  });
  return errs;
}

function validateEnv(env: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  arr(env).forEach((e: Obj, i) => {
    const at = `${path}[${i}]`;
    const name = typeof e?.name === "string" ? e.name : "";
    if (!name) errs.push(fieldError.required(`${at}.name`));
    for (const msg of isEnvVarName(name)) errs.push(fieldError.invalid(`${at}.name`, name, msg));
    const from = e?.valueFrom;
    if (from && typeof from === "object") {
      const sources = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"].filter((k) =>
        from[k]
      );
      if (sources.length === 0) {
        errs.push(
          fieldError.invalid(
            `${at}.valueFrom`,
            "",
            "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
          ),
        );
      } else if (sources.length > 1) {
        errs.push(
          fieldError.invalid(`${at}.valueFrom`, "", "may not have more than one field specified at a time"),
        );
      }
      if (e.value) {
        errs.push(
          fieldError.invalid(`${at}.valueFrom`, "", "may not be specified when `value` is not empty"),
        );
      }
    }
  });
  return errs;
}

function validateVolumeMounts(mounts: unknown, volumes: Set<string>, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const points = new Set<string>();
  arr(mounts).forEach((m: Obj, i) => {
    const at = `${path}[${i}]`;
    if (!m?.name) errs.push(fieldError.required(`${at}.name`));
    if (!volumes.has(m?.name)) errs.push(notFoundCause(`${at}.name`, m?.name ?? ""));
    if (!m?.mountPath) errs.push(fieldError.required(`${at}.mountPath`));
    else if (points.has(m.mountPath)) {
      errs.push(fieldError.invalid(`${at}.mountPath`, m.mountPath, "must be unique"));
    }
    if (m?.mountPath) points.add(m.mountPath);
    if (typeof m?.subPath === "string" && m.subPath) {
      if (m.subPath.startsWith("/")) {
        errs.push(fieldError.invalid(`${path}.subPath`, m.subPath, "must be a relative path"));
      } else if (m.subPath.split("/").includes("..")) {
        errs.push(fieldError.invalid(`${path}.subPath`, m.subPath, "must not contain '..'"));
      }
    }
  });
  return errs;
}

const STANDARD_CONTAINER_RESOURCES = new Set(["cpu", "memory", "ephemeral-storage"]);

function isNativeResource(name: string): boolean {
  return !name.includes("/") || name.includes("kubernetes.io/");
}

function isHugePages(name: string): boolean {
  return name.startsWith("hugepages-");
}

/** Upstream's `IsOvercommitAllowed`: native, non-hugepages resources. */
function overcommitAllowed(name: string): boolean {
  return isNativeResource(name) && !isHugePages(name);
}

function validateResourceName(name: string, path: string): StatusCause[] {
  const errs = isQualifiedName(name).map((msg) => fieldError.invalid(path, name, msg));
  if (errs.length) return errs;
  if (!name.includes("/")) {
    if (!STANDARD_CONTAINER_RESOURCES.has(name) && !isHugePages(name)) {
      errs.push(fieldError.invalid(path, name, "must be a standard resource for containers"));
    }
  } else if (!isNativeResource(name) && name.startsWith("requests.")) {
    errs.push(fieldError.invalid(path, name, "doesn't follow extended resource name standard"));
  }
  return errs;
}

/** `ValidateResourceRequirements` for a container: names, non-negative values, requests <= limits. */
export function validateResourceRequirements(resources: unknown, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  const res = (resources ?? {}) as Obj;
  const limPath = `${path}.limits`;
  const reqPath = `${path}.requests`;
  const check = (list: Obj | undefined, base: string) => {
    for (const [name, value] of Object.entries(list ?? {})) {
      const at = `${base}[${name}]`;
      errs.push(...validateResourceName(name, at));
      const q = parseQuantity(value);
      if (!q) errs.push(fieldError.invalid(at, value, QUANTITY_FORMAT_ERROR));
      else if (quantitySign(q) < 0) {
        errs.push(fieldError.invalid(at, String(value), "must be greater than or equal to 0"));
      } else if (isHugePages(name) || !isNativeResource(name)) {
        if (!isWholeQuantity(q)) errs.push(fieldError.invalid(at, String(value), "must be an integer"));
      }
    }
  };
  check(res.limits, limPath);
  check(res.requests, reqPath);
  for (const [name, value] of Object.entries((res.requests ?? {}) as Obj)) {
    const req = parseQuantity(value);
    if (!req) continue;
    const limitValue = res.limits?.[name];
    if (limitValue !== undefined) {
      const lim = parseQuantity(limitValue);
      if (!lim) continue;
      const cmp = compareQuantities(req, lim);
      const [r, l] = [formatQuantity(req), formatQuantity(lim)];
      if (cmp !== 0 && !overcommitAllowed(name)) {
        errs.push(fieldError.invalid(reqPath, r, `must be equal to ${name} limit of ${l}`));
      } else if (cmp > 0) {
        errs.push(fieldError.invalid(reqPath, r, `must be less than or equal to ${name} limit of ${l}`));
      }
    } else if (!overcommitAllowed(name)) {
      errs.push(fieldError.required(limPath, "Limit must be set for non overcommitable resources"));
    }
  }
  return errs;
}

const HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"];

function validateProbe(
  probe: unknown,
  path: string,
  kind: "liveness" | "readiness" | "startup",
): StatusCause[] {
  if (!probe || typeof probe !== "object") return [];
  const p = probe as Obj;
  const errs: StatusCause[] = [];
  const handlers = HANDLERS.filter((h) => p[h]);
  if (handlers.length === 0) errs.push(fieldError.required(path, "must specify a handler type"));
  else if (handlers.length > 1) {
    errs.push(fieldError.forbidden(`${path}.${handlers[1]}`, "may not specify more than 1 handler type"));
  }
  for (
    const k of [
      "initialDelaySeconds",
      "timeoutSeconds",
      "periodSeconds",
      "successThreshold",
      "failureThreshold",
    ]
  ) {
    if (typeof p[k] === "number" && p[k] < 0) {
      errs.push(fieldError.invalid(`${path}.${k}`, p[k], "must be greater than or equal to 0"));
    }
  }
  if (kind !== "readiness" && typeof p.successThreshold === "number" && p.successThreshold !== 1) {
    errs.push(fieldError.invalid(`${path}.successThreshold`, p.successThreshold, "must be 1"));
  }
  if (typeof p.terminationGracePeriodSeconds === "number" && p.terminationGracePeriodSeconds <= 0) {
    const field = `${path}.terminationGracePeriodSeconds`;
    errs.push(fieldError.invalid(field, p.terminationGracePeriodSeconds, "must be greater than 0"));
  }
  if (kind === "readiness" && p.terminationGracePeriodSeconds !== undefined) {
    errs.push(
      fieldError.invalid(
        `${path}.terminationGracePeriodSeconds`,
        p.terminationGracePeriodSeconds,
        "must not be set for readinessProbes",
      ),
    );
  }
  const port = p.httpGet?.port ?? p.tcpSocket?.port;
  if (typeof port === "number") {
    const sub = p.httpGet ? "httpGet" : "tcpSocket";
    for (const msg of isValidPortNum(port)) errs.push(fieldError.invalid(`${path}.${sub}.port`, port, msg));
  }
  if (p.grpc && typeof p.grpc === "object") {
    // GRPCAction.port is an int32 with no name form; a missing one decodes as 0 upstream.
    const grpcPort = p.grpc.port ?? 0;
    for (const msg of isValidPortNum(typeof grpcPort === "number" ? grpcPort : NaN)) {
      errs.push(fieldError.invalid(`${path}.grpc.port`, grpcPort, msg));
    }
  }
  return errs;
}

const LIFECYCLE_HANDLERS = ["exec", "httpGet", "tcpSocket", "sleep"];

/** `validateLifecycle`: each hook names one handler; a sleep fits in the pod's grace period. */
function validateLifecycle(lifecycle: unknown, grace: number | undefined, path: string): StatusCause[] {
  if (!lifecycle || typeof lifecycle !== "object") return [];
  const errs: StatusCause[] = [];
  for (const hook of ["postStart", "preStop"]) {
    const h = (lifecycle as Obj)[hook];
    if (!h || typeof h !== "object") continue;
    const at = `${path}.${hook}`;
    const handlers = LIFECYCLE_HANDLERS.filter((k) => h[k]);
    if (handlers.length === 0) errs.push(fieldError.required(at, "must specify a handler type"));
    else if (handlers.length > 1) {
      errs.push(fieldError.forbidden(`${at}.${handlers[1]}`, "may not specify more than 1 handler type"));
    }
    if (h.exec && !arr(h.exec.command).length) errs.push(fieldError.required(`${at}.exec.command`));
    const port = h.httpGet?.port ?? h.tcpSocket?.port;
    if (typeof port === "number") {
      const sub = h.httpGet ? "httpGet" : "tcpSocket";
      for (const msg of isValidPortNum(port)) errs.push(fieldError.invalid(`${at}.${sub}.port`, port, msg));
    }
    const seconds = h.sleep?.seconds;
    if (h.sleep && grace !== undefined && (typeof seconds !== "number" || seconds <= 0 || seconds > grace)) {
      errs.push(
        fieldError.invalid(
          `${at}.sleep`,
          seconds,
          `must be greater than 0 and less than terminationGracePeriodSeconds (${grace}). Please enable ` +
            "PodLifecycleSleepActionAllowZero feature gate if you need a sleep of zero duration.",
        ),
      );
    }
  }
  return errs;
}

function validateContainerCommon(c: Obj, volumes: Set<string>, path: string): StatusCause[] {
  const errs: StatusCause[] = [];
  if (!c?.name) errs.push(fieldError.required(`${path}.name`));
  else errs.push(...dns1123Label(c.name, `${path}.name`));
  if (!c?.image) errs.push(fieldError.required(`${path}.image`));
  const tmp = c?.terminationMessagePolicy;
  if (!tmp) errs.push(fieldError.required(`${path}.terminationMessagePolicy`));
  else if (tmp !== "File" && tmp !== "FallbackToLogsOnError") {
    errs.push(
      fieldError.notSupported(`${path}.terminationMessagePolicy`, tmp, ["File", "FallbackToLogsOnError"]),
    );
  }
  errs.push(...validatePorts(c?.ports, `${path}.ports`));
  errs.push(...validateEnv(c?.env, `${path}.env`));
  errs.push(...validateVolumeMounts(c?.volumeMounts, volumes, `${path}.volumeMounts`));
  const pull = c?.imagePullPolicy;
  if (!pull) errs.push(fieldError.required(`${path}.imagePullPolicy`));
  else if (!["Always", "IfNotPresent", "Never"].includes(pull)) {
    errs.push(fieldError.notSupported(`${path}.imagePullPolicy`, pull, ["Always", "IfNotPresent", "Never"]));
  }
  errs.push(...validateResourceRequirements(c?.resources, `${path}.resources`));
  return errs;
}

function validateProbes(c: Obj, path: string, grace?: number): StatusCause[] {
  return [
    ...validateLifecycle(c?.lifecycle, grace, `${path}.lifecycle`),
    ...validateProbe(c?.livenessProbe, `${path}.livenessProbe`, "liveness"),
    ...validateProbe(c?.readinessProbe, `${path}.readinessProbe`, "readiness"),
    ...validateProbe(c?.startupProbe, `${path}.startupProbe`, "startup"),
  ];
}

/** `validateContainers`: at least one, unique names, no container-level restartPolicy. */
export function validateContainers(
  containers: unknown,
  volumes: Set<string>,
  path: string,
  grace?: number,
): StatusCause[] {
  const list = arr(containers);
  if (list.length === 0) return [fieldError.required(path)];
  const errs: StatusCause[] = [];
  const names = new Set<string>();
  list.forEach((c: Obj, i) => {
    const at = `${path}[${i}]`;
    errs.push(...validateContainerCommon(c, volumes, at));
    if (names.has(c?.name)) errs.push(fieldError.duplicate(`${at}.name`, c.name));
    else names.add(c?.name);
    errs.push(...validateProbes(c, at, grace));
    if (c?.restartPolicy !== undefined) {
      errs.push(fieldError.forbidden(`${at}.restartPolicy`, "may not be set for non-init containers"));
    }
  });
  return errs;
}

/** The fields an ephemeral container may set (upstream's `allowedEphemeralContainerFields`). */
const EPHEMERAL_FIELDS = new Set([
  "name",
  "image",
  "command",
  "args",
  "workingDir",
  "env",
  "envFrom",
  "volumeMounts",
  "volumeDevices",
  "terminationMessagePath",
  "terminationMessagePolicy",
  "imagePullPolicy",
  "securityContext",
  "stdin",
  "stdinOnce",
  "tty",
  "targetContainerName",
]);

/**
 * `validateEphemeralContainers`: each as a container, names unique across every container of
 * the pod, a `targetContainerName` naming a container or init container, no ports, probes,
 * lifecycle, resources or subPaths.
 */
export function validateEphemeralContainers(
  ephemeral: unknown,
  containers: unknown,
  inits: unknown,
  volumes: Set<string>,
  path: string,
): StatusCause[] {
  const errs: StatusCause[] = [];
  const others = new Set<string>([...arr(containers), ...arr(inits)].map((c: Obj) => c?.name));
  const names = new Set(others);
  arr(ephemeral).forEach((c: Obj, i) => {
    const at = `${path}[${i}]`;
    errs.push(...validateContainerCommon(c, volumes, at));
    if (names.has(c?.name)) errs.push(fieldError.duplicate(`${at}.name`, c.name));
    else names.add(c?.name);
    if (c?.targetContainerName && !others.has(c.targetContainerName)) {
      errs.push(fieldError.notFound(`${at}.targetContainerName`, c.targetContainerName));
    }
    for (const k of Object.keys(c ?? {})) {
      const v = c[k];
      const empty = v === undefined || v === null || (typeof v === "object" && Object.keys(v).length === 0);
      if (!EPHEMERAL_FIELDS.has(k) && !empty) {
        errs.push(fieldError.forbidden(`${at}.${k}`, "cannot be set for an Ephemeral Container"));
      }
    }
    arr(c?.volumeMounts).forEach((m: Obj, j) => {
      for (const k of ["subPath", "subPathExpr"]) {
        if (m?.[k]) {
          errs.push(
            fieldError.forbidden(`${at}.volumeMounts[${j}].${k}`, "cannot be set for an Ephemeral Container"),
          );
        }
      }
    });
  });
  return errs;
}

/** `validateInitContainers`: names unique across all containers; sidecars need `restartPolicy: Always`. */
export function validateInitContainers(
  inits: unknown,
  containers: unknown,
  volumes: Set<string>,
  path: string,
  grace?: number,
): StatusCause[] {
  const errs: StatusCause[] = [];
  const names = new Set<string>(arr(containers).map((c: Obj) => c?.name));
  arr(inits).forEach((c: Obj, i) => {
    const at = `${path}[${i}]`;
    errs.push(...validateContainerCommon(c, volumes, at));
    if (names.has(c?.name)) errs.push(fieldError.duplicate(`${at}.name`, c.name));
    else names.add(c?.name);
    if (c?.restartPolicy === "Always") {
      errs.push(...validateProbes(c, at, grace));
    } else {
      if (c?.restartPolicy !== undefined) {
        errs.push(fieldError.notSupported(`${at}.restartPolicy`, c.restartPolicy, ["Always"]));
      }
      for (const k of ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"]) {
        if (c?.[k]) {
          errs.push(
            fieldError.forbidden(
              `${at}.${k}`,
              "may not be set for init containers without restartPolicy=Always",
            ),
          );
        }
      }
    }
  });
  return errs;
}
