/**
 * A tiny schema vocabulary: a field is a check that proves the type of a value, so one
 * definition both checks a message at run time and gives its TypeScript type (`TypeOf`,
 * `ShapeOf`). protocol.ts defines every IPC message with it.
 *
 * A message is checked on every connection and heartbeat: no check allocates or describes
 * anything unless it refuses, and a shape's checks are compiled into one function (see
 * compiled()).
 */

/** Checks one value; `expected` says what it wanted, for the line that reports a refusal. */
export interface Field<T> {
  (value: unknown): value is T;
  readonly expected: string;
  /** Set by optional(): the key may be absent. */
  readonly optional?: true;
  /** Set by shape() and arrayOf(): where a refusal looks to name the field that was wrong. */
  readonly fields?: Shape;
  readonly items?: Field<unknown>;
}

export type Shape = { readonly [key: string]: Field<unknown> };

export type TypeOf<F> = F extends Field<infer T> ? T : never;

type OptionalKeys<S extends Shape> = { [K in keyof S & string]: S[K] extends { readonly optional: true } ? K : never }[keyof S & string];
type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** The object type a shape checks: optional() fields are optional keys. */
export type ShapeOf<S extends Shape> = Simplify<
  { -readonly [K in Exclude<keyof S & string, OptionalKeys<S>>]: TypeOf<S[K]> }
  & { -readonly [K in OptionalKeys<S>]?: Exclude<TypeOf<S[K]>, undefined> }
>;

type Extra = Pick<Field<unknown>, 'optional' | 'fields' | 'items'>;

function field<T>(expected: string, check: (value: unknown) => boolean, extra: Extra = {}): Field<T> {
  return Object.assign(check as (value: unknown) => value is T, extra, { expected });
}

/** An integer from `least` to `most`. */
export function int(least = 0, most = Infinity): Field<number> {
  const expected = most === Infinity ? `an integer >= ${least}` : least === -Infinity ? `an integer <= ${most}` : `an integer from ${least} to ${most}`;
  return field(expected, (value) => typeof value === 'number' && Number.isInteger(value) && value >= least && value <= most);
}

/** A finite number >= 0 (a measurement: memory, a delay). */
export const measure: Field<number> = field('a finite number >= 0', (value) => typeof value === 'number' && Number.isFinite(value) && value >= 0);

export const bool: Field<boolean> = field('true or false', (value) => typeof value === 'boolean');

/** A string of at most `maxLength` UTF-16 units. */
export function str(maxLength = Infinity): Field<string> {
  const expected = maxLength === Infinity ? 'a string' : `a string of at most ${maxLength} characters`;
  return field(expected, (value) => typeof value === 'string' && value.length <= maxLength);
}

/** One of `values`. */
export function literal<const V extends readonly (string | number)[]>(...values: V): Field<V[number]> {
  return field(values.map((value) => JSON.stringify(value)).join(' or '), (value) => values.includes(value as V[number]));
}

export function nullable<T>(inner: Field<T>): Field<T | null> {
  return field(`${inner.expected} or null`, (value) => value === null || inner(value), inner);
}

/** A key that may be absent (or undefined, which JSON drops). */
export function optional<T>(inner: Field<T>): Field<T | undefined> & { readonly optional: true } {
  return field<T | undefined>(`${inner.expected} or absent`, (value) => value === undefined || inner(value), { ...inner, optional: true }) as Field<T | undefined> & { readonly optional: true };
}

/** An array of at most `maxLength` items, each checked by `item`. */
export function arrayOf<T>(item: Field<T>, maxLength: number): Field<T[]> {
  return field(`an array of at most ${maxLength} items, each ${item.expected}`, (value) => {
    if (!Array.isArray(value) || value.length > maxLength) return false;
    for (let i = 0; i < value.length; i++) if (!item(value[i])) return false;
    return true;
  }, { items: item });
}

/** An object with (at least) these keys; other keys pass unchecked. */
export function shape<S extends Shape>(fields: S): Field<ShapeOf<S>> {
  return field('an object', compiled(fields) ?? looped(fields), { fields });
}

type Check = (value: unknown) => boolean;

/**
 * A shape's checks as one function that reads each key by its name: V8 loads each property
 * from where that message's layout keeps it, where a loop over the keys pays a generic
 * lookup per key (acks, checked on every connection, took 66 ns instead of 15). The code is
 * made of the shape's own keys, quoted, and no other text. Undefined where code generation
 * is disallowed (node --disallow-code-generation-from-strings).
 */
function compiled(fields: Shape): Check | undefined {
  const conditions = Object.entries(fields).map(([key, check], i) => {
    const item = `value[${JSON.stringify(key)}]`;
    // An absent optional key is the common case (acks' rare lists): settled without a call.
    return check.optional === true ? ` && (${item} === undefined || checks[${i}](${item}))` : ` && checks[${i}](${item})`;
  });
  try {
    return new Function('checks', `return (value) => value !== null && typeof value === 'object'${conditions.join('')};`)(Object.values(fields)) as Check;
  } catch {
    return undefined;
  }
}

function looped(fields: Shape): Check {
  const keys = Object.keys(fields);
  const checks = Object.values(fields);
  return (value) => {
    if (value === null || typeof value !== 'object') return false;
    for (let i = 0; i < keys.length; i++) if (!checks[i]!((value as Record<string, unknown>)[keys[i]!])) return false;
    return true;
  };
}

/**
 * Why `value` fails `check`: the path of the first wrong field and what it should be, e.g.
 * `query.port must be an integer from -1 to 65535, got 70000`. Only called on a refusal.
 */
export function explain(check: Field<unknown>, value: unknown, path = ''): string {
  const { fields, items } = check;
  if (fields !== undefined && value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(fields)) {
      const item = (value as Record<string, unknown>)[key];
      if (!inner(item)) return explain(inner, item, path === '' ? key : `${path}.${key}`);
    }
  }
  if (items !== undefined && Array.isArray(value)) {
    const at = value.findIndex((item) => !items(item));
    if (at !== -1) return explain(items, value[at], `${path}[${at}]`);
  }
  return `${path === '' ? 'it' : path} must be ${check.expected}, got ${describe(value)}`;
}

/** A short description of what was sent: the refusal is logged, and a forged message may be huge. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  if (value !== null && typeof value === 'object') return 'an object';
  if (typeof value !== 'string') return String(value);
  return value.length <= 40 ? JSON.stringify(value) : `a string of ${value.length} characters`;
}
