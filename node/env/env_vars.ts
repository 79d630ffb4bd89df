/**
 * A container's environment as the kubelet builds it (`makeEnvironmentVariables`): `envFrom`
 * sources first (keys prefixed, invalid names skipped), then `env` in order, each value
 * `$(VAR)`-expanded against the variables defined before it; then `command` and `args` expanded
 * against the result. ConfigMaps and Secrets come from synchronous lookups (the agent's informer
 * caches), so this is pure.
 *
 * @example
 * ```ts
 * const { env } = containerEnvironment(pod, pod.spec!.containers[0], lookups);
 * ```
 * @module
 */
import type { Container, Pod } from "kubernetes-types/core/v1.d.ts";
import { expand, mappingFor } from "./expand.ts";
import { FieldPathError, podFieldValue, resourceFieldValue } from "./field_path.ts";

/** The data of a ConfigMap or Secret (Secret values already decoded), or undefined when it does not exist. */
export interface ConfigLookups {
  configMap(namespace: string, name: string): Record<string, string> | undefined;
  secret(namespace: string, name: string): Record<string, string> | undefined;
  /** The node's allocatable, for unset limits in resourceFieldRef. */
  allocatable: Record<string, string>;
}

/** A variable could not be resolved: the container gets `CreateContainerConfigError` with this message. */
export class ContainerConfigError extends Error {
  override name = "ContainerConfigError";
}

/** The resolved environment, command and args of one container. */
export interface ContainerEnvironment {
  /** Name → value, in definition order (a later definition replaces an earlier one in place). */
  env: Map<string, string>;
  command: string[];
  args: string[];
  /** envFrom keys skipped because they are not valid variable names (upstream emits an event). */
  invalidKeys: string[];
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** Resolves the environment of `container` in `pod`; throws {@linkcode ContainerConfigError}. */
export function containerEnvironment(
  pod: Pod,
  container: Container,
  lookups: ConfigLookups,
): ContainerEnvironment {
  const ns = pod.metadata?.namespace ?? "default";
  const env = new Map<string, string>();
  const invalidKeys: string[] = [];

  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? "";
    let data: Record<string, string> | undefined;
    if (from.configMapRef) {
      const name = from.configMapRef.name ?? "";
      data = lookups.configMap(ns, name);
      if (!data) {
        if (from.configMapRef.optional) continue;
        throw new ContainerConfigError(`configmap "${name}" not found`);
      }
    } else if (from.secretRef) {
      const name = from.secretRef.name ?? "";
      data = lookups.secret(ns, name);
      if (!data) {
        if (from.secretRef.optional) continue;
        throw new ContainerConfigError(`secret "${name}" not found`);
      }
    } else continue;
    for (const [key, value] of Object.entries(data)) {
      const name = prefix + key;
      if (!ENV_NAME.test(name)) {
        invalidKeys.push(name);
        continue;
      }
      env.set(name, value);
    }
  }

  for (const v of container.env ?? []) {
    const mapping = mappingFor(env);
    if (!v.valueFrom) {
      env.set(v.name, v.value === undefined ? "" : expand(v.value, mapping));
      continue;
    }
    const value = valueFrom(pod, container, v.valueFrom, ns, lookups);
    if (value !== undefined) env.set(v.name, value);
  }

  const mapping = mappingFor(env);
  return {
    env,
    command: (container.command ?? []).map((s) => expand(s, mapping)),
    args: (container.args ?? []).map((s) => expand(s, mapping)),
    invalidKeys,
  };
}

type ValueFrom = NonNullable<NonNullable<Container["env"]>[number]["valueFrom"]>;

function valueFrom(
  pod: Pod,
  container: Container,
  from: ValueFrom,
  ns: string,
  lookups: ConfigLookups,
): string | undefined {
  if (from.configMapKeyRef) {
    const { name = "", key, optional } = from.configMapKeyRef;
    const data = lookups.configMap(ns, name);
    if (!data) {
      if (optional) return undefined;
      throw new ContainerConfigError(`configmap "${name}" not found`);
    }
    if (!Object.hasOwn(data, key)) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in ConfigMap ${ns}/${name}`);
    }
    return data[key];
  }
  if (from.secretKeyRef) {
    const { name = "", key, optional } = from.secretKeyRef;
    const data = lookups.secret(ns, name);
    if (!data) {
      if (optional) return undefined;
      throw new ContainerConfigError(`secret "${name}" not found`);
    }
    if (!Object.hasOwn(data, key)) {
      if (optional) return undefined;
      throw new ContainerConfigError(`couldn't find key ${key} in Secret ${ns}/${name}`);
    }
    return data[key];
  }
  try {
    if (from.fieldRef) return podFieldValue(pod, from.fieldRef.fieldPath);
    if (from.resourceFieldRef) {
      const target = from.resourceFieldRef.containerName
        ? pod.spec?.containers.find((c) => c.name === from.resourceFieldRef!.containerName) ?? container
        : container;
      return resourceFieldValue(target, from.resourceFieldRef, lookups.allocatable);
    }
  } catch (e) {
    if (e instanceof FieldPathError) throw new ContainerConfigError(e.message);
    throw e;
  }
  return undefined;
}
