import { checked, numberIn, resolveBoolean, type Range } from './option-checks.js';

export interface ResolveSettings {
  /** Allow `workers: 0` (in-process): the framework plugins do. */
  allowZeroWorkers?: boolean;
  /** Let CLUSTERIZE_WORKERS override `workers` (default true; the CLI's --workers beats it). */
  workersFromEnv?: boolean;
}

declare const accepts: unique symbol;

/** One option of optionTable: everything clusterize knows about it but its name and doc comment. */
export interface OptionRow<In, Out> {
  /** Type only, never set: what a user may write for the option (ClusterOptions is made of these). */
  readonly [accepts]?: In;
  /**
   * The value to run with, from what the user gave: anything, since JavaScript callers are
   * not type-checked, and undefined when not given. `source` names the option in messages.
   */
  resolve(value: unknown, source: string, settings: Required<ResolveSettings>): Out;
  /** The default as README.md's options table shows it (a test compares). */
  readonly shownDefault: string;
  /** Its command-line flags, in --help order. */
  readonly flags?: readonly CliFlag<In>[];
}

/** What flags may have filled of an option so far: some keys of an object (admin), or a whole value. */
export type Partly<In> = In extends object ? Partial<In> : In;

/** A flag of `clusterize`: it sets one option. */
export type CliFlag<In> = {
  /** Its spellings, the short one first. */
  readonly names: readonly string[];
  /** Its --help text; after a '\n' it goes on in the same column. */
  readonly help: string;
} & ({
  /** How --help shows the value (MS, N|auto). */
  readonly value: string;
  /**
   * The value may be left out (`--watch`); it is then only ever given inline
   * (`--watch=src`), so that the argument after the flag stays the script. Left out,
   * parse() gets ''.
   */
  readonly optional?: true;
  /**
   * The option's value, from the flag's text; `source` is the flag as typed, for messages.
   * `given` is what earlier flags gave the same option (--admin-port and --admin-host both
   * fill `admin`). A method, so that any row is an OptionRow<unknown, unknown> to code
   * that walks the table.
   */
  parse(text: string, source: string, given: Partly<In> | undefined): Partly<In>;
} | {
  /** A switch, without a value: it sets the option to this. */
  readonly value?: undefined;
  readonly sets: In;
});

/** A row whose values need their own checks (workers, policy, admin, script...). */
export function custom<In, Out>(row: OptionRow<In, Out>): OptionRow<In, Out> {
  return row;
}

export type Unit = 'milliseconds' | 'megabytes' | 'workers';

/** How --help shows a number of each unit. */
const unitValue: Record<Unit, string> = { milliseconds: 'MS', megabytes: 'MB', workers: 'N' };

export interface NumberRow extends OptionRow<number, number>, Range {
  readonly unit: Unit;
  readonly default: number;
}

/** A flag whose value is the option's own: --max-surge N. */
interface Flag {
  readonly flag: string;
  readonly help: string;
}

/**
 * A whole number of `unit` from `least` to `most` (and 0 with `zeroIsOff`); a wrong type is
 * a TypeError, a number out of range a RangeError, both naming the range.
 */
export function wholeNumber(unit: Unit, spec: Range & { readonly default: number }, cli?: Flag): NumberRow {
  const { least, most, zeroIsOff = false } = spec;
  const expected = `${zeroIsOff ? '0 (off) or ' : ''}a whole number of ${unit} ${most === Number.MAX_SAFE_INTEGER ? `>= ${least}` : `from ${least} to ${most}`}`;
  const check = (value: unknown, source: string, shown?: string) => checked(value, spec, 'ERR_CLUSTERIZE_INVALID_OPTION', source, expected, shown);
  return {
    unit, least, most, zeroIsOff, default: spec.default,
    shownDefault: `\`${spec.default}\``,
    resolve: (value, source) => (value === undefined ? spec.default : check(value, source)),
    flags: cli && [{ names: [cli.flag], value: unitValue[unit], help: cli.help, parse: (text, source) => check(numberIn(text), source, `'${text}'`) }],
  };
}

export function isWholeNumber(row: OptionRow<unknown, unknown>): row is NumberRow {
  return 'unit' in row;
}

/** true or false; its flag, if any, is a switch that turns it on. */
export function trueOrFalse(fallback: boolean, cli?: Flag): OptionRow<boolean, boolean> {
  return {
    shownDefault: `\`${fallback}\``,
    resolve: (value, source) => resolveBoolean(value, source, fallback),
    flags: cli && [{ names: [cli.flag], help: cli.help, sets: true }],
  };
}
