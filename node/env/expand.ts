/**
 * `$(VAR)` expansion in container `command`, `args` and `env[].value`, exactly as upstream's
 * `third_party/forked/golang/expansion`: `$(NAME)` is replaced when NAME is defined, left as
 * written when it is not; `$$` is an escaped `$`; an unclosed `$(` stays as it is. Pure.
 *
 * @example
 * ```ts
 * expand("$(HOST):$(PORT) $$(PORT) $(NOPE)", mappingFor({ HOST: "a", PORT: "80" }));
 * // "a:80 $(PORT) $(NOPE)"
 * ```
 * @module
 */

/** Looks a variable name up; returns the text that replaces `$(name)`. */
export type Mapping = (name: string) => string;

/** A mapping over `contexts` in order; an unknown name maps to `$(name)` (left unexpanded). */
export function mappingFor(...contexts: (ReadonlyMap<string, string> | Record<string, string>)[]): Mapping {
  return (name) => {
    for (const ctx of contexts) {
      if (ctx instanceof Map) {
        if (ctx.has(name)) return ctx.get(name)!;
      } else if (Object.hasOwn(ctx, name)) return (ctx as Record<string, string>)[name];
    }
    return `$(${name})`;
  };
}

/** Expands every `$(VAR)` reference in `input` through `mapping`. */
export function expand(input: string, mapping: Mapping): string {
  let out = "";
  let checkpoint = 0;
  for (let cursor = 0; cursor < input.length; cursor++) {
    if (input[cursor] !== "$" || cursor + 1 >= input.length) continue;
    out += input.slice(checkpoint, cursor);
    const { read, isVar, advance } = readVariableName(input.slice(cursor + 1));
    out += isVar ? mapping(read) : read;
    cursor += advance;
    checkpoint = cursor + 1;
  }
  return out + input.slice(checkpoint);
}

function readVariableName(input: string): { read: string; isVar: boolean; advance: number } {
  if (input[0] === "$") return { read: "$", isVar: false, advance: 1 };
  if (input[0] === "(") {
    const close = input.indexOf(")", 1);
    if (close >= 0) return { read: input.slice(1, close), isVar: true, advance: close + 1 };
    return { read: "$(", isVar: false, advance: 1 };
  }
  return { read: "$" + input[0], isVar: false, advance: 1 };
}
