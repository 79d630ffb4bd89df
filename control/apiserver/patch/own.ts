/**
 * Property writes that are safe for any JSON key: a patch may name `__proto__`, which a plain
 * assignment would turn into a prototype change instead of a member.
 * @module
 */

/** Sets `obj[key] = value` as an own, enumerable member, whatever the key. */
export function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
}

/** `obj[key]` if it is an own member, else `undefined` (never an inherited property). */
export function getOwn(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
