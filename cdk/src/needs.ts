// The table of which resources need which service-linked role (slr-needs.json, copied into the
// package at build time) and its condition language, as the function's macro reads them
// (handler/needs.rs): both must agree on every case of the repository's
// tests/needs-cases.json, and refuse a table that breaks the same rules.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** What a condition says about one resource. */
export type Verdict = 'holds' | 'fails' | 'undecided';

/** One clause of a row's `when`, as read from the table: paths are split into their steps. */
export type Clause =
  | { readonly kind: 'is'; readonly path: string[]; readonly present: boolean }
  | { readonly kind: 'oneOf' | 'notOneOf'; readonly path: string[]; readonly values: string[] }
  | { readonly kind: 'prefix' | 'contains'; readonly path: string[]; readonly text: string }
  | { readonly kind: 'some' | 'none'; readonly path: string[]; readonly clauses: Clause[] }
  | { readonly kind: 'any' | 'all'; readonly clauses: Clause[] };

export interface Alternative {
  readonly service: string;
  readonly roleName: string;
}

export interface Row {
  readonly resourceType: string;
  readonly service: string;
  readonly roleName: string;
  readonly when: Clause[];
  readonly tier: 'must-exist' | 'propagation';
  readonly source: string;
  readonly dependents: string[];
  readonly satisfiedBy: Alternative[];
}

/** A verdict, and the paths whose values only the deployment knows when it is undecided. */
export interface Decision {
  readonly verdict: Verdict;
  readonly unknown: string[];
}

/** Template parameters' values, which a `Ref` reads (the aspect knows none: a `Ref` is unknown). */
export type Parameters = Record<string, unknown>;

const TESTS = ['is', 'oneOf', 'notOneOf', 'prefix', 'contains', 'some', 'none', 'any', 'all'] as const;
const ROW_KEYS = [
  'resourceType', 'service', 'roleName', 'when', 'tier', 'source', 'principalSource', 'evidence', 'reports', 'dependents', 'satisfiedBy', 'note',
];
/** The largest integer both readers represent exactly. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

let table: Row[] | undefined;

/** The table this package carries, read and checked once. */
export function rows(): Row[] {
  if (!table) {
    const file = path.join(__dirname, '..', 'slr-needs.json');
    if (!fs.existsSync(file)) {
      throw new Error(`${file} is missing: this copy of upsert-slr-cdk carries no table of service-linked roles (build it with \`make cdk-lib\`)`);
    }
    table = parseTable(fs.readFileSync(file, 'utf8'));
  }
  return table;
}

/** Reads the table, refusing a row that breaks its rules (the rules handler/needs.rs checks). */
export function parseTable(text: string): Row[] {
  const file = JSON.parse(text) as { rows?: unknown };
  if (!isPlainObject(file) || !Array.isArray(file.rows) || Object.keys(file).some((k) => k !== '$comment' && k !== 'rows')) {
    throw new Error('slr-needs.json: not an object with $comment and rows');
  }
  const parsed = file.rows.map((raw: unknown, i: number) => {
    const given = isPlainObject(raw) ? raw : {};
    try {
      return parseRow(raw);
    } catch (e) {
      throw new Error(`slr-needs.json: row ${i} (${String(given.resourceType)} ${String(given.service)}): ${(e as Error).message}`);
    }
  });
  const pairs = new Set<string>();
  const names = new Map<string, string>();
  const serving = new Map<string, string>();
  for (const row of parsed) {
    const service = asciiLower(row.service);
    // One list per service: which role serves must not depend on the rows' order.
    const instead = JSON.stringify(row.satisfiedBy.map((a) => [asciiLower(a.service), a.roleName]));
    if ((serving.get(service) ?? instead) !== instead) throw new Error(`slr-needs.json: ${row.service} has different satisfiedBy in different rows`);
    serving.set(service, instead);
    const pair = `${row.resourceType} ${service}`;
    if (pairs.has(pair)) throw new Error(`slr-needs.json: ${row.resourceType} lists ${row.service} twice`);
    pairs.add(pair);
    const name = names.get(service) ?? row.roleName;
    if (name !== row.roleName) throw new Error(`slr-needs.json: ${row.service} is named ${name} and ${row.roleName} in different rows`);
    names.set(service, name);
  }
  return parsed;
}

function parseRow(raw: unknown): Row {
  if (!isPlainObject(raw)) throw new Error('a row is not an object');
  const unknownKey = Object.keys(raw).find((k) => !ROW_KEYS.includes(k));
  if (unknownKey !== undefined) throw new Error(`unknown field ${JSON.stringify(unknownKey)}`);
  const text = (key: string, optional = false): string | undefined => {
    const value = raw[key];
    if (value === undefined && optional) return undefined;
    if (typeof value !== 'string') throw new Error(`${key} is not a string`);
    return value;
  };
  const list = (key: string): unknown[] => {
    const value = raw[key] ?? [];
    if (!Array.isArray(value)) throw new Error(`${key} is not a list`);
    return value;
  };
  const resourceType = text('resourceType')!;
  const service = text('service')!;
  const roleName = text('roleName')!;
  const source = text('source')!;
  const evidence = text('evidence')!;
  text('principalSource', true);
  text('note', true);
  const tier = raw.tier;
  if (tier !== 'must-exist' && tier !== 'propagation') throw new Error(`tier ${JSON.stringify(tier)} is neither must-exist nor propagation`);
  if (!resourceType.startsWith('AWS::')) throw new Error('resourceType is not an AWS:: type');
  checkNamed('service', service, roleName);
  if (!source.startsWith('https://docs.aws.amazon.com/')) throw new Error(`source ${JSON.stringify(source)} is not an AWS documentation page`);
  if (evidence.trim() === '') throw new Error('evidence is empty');
  for (const report of list('reports')) {
    const r = isPlainObject(report) ? report : {};
    if (Object.keys(r).some((k) => k !== 'ref' && k !== 'summary') || typeof r.ref !== 'string' || typeof r.summary !== 'string') {
      throw new Error(`report ${JSON.stringify(report)} is not {ref, summary}`);
    }
    if (!/^[^/#]+\/[^/#]+#[0-9]+$/.test(r.ref)) throw new Error(`report ${JSON.stringify(r.ref)} is not owner/repo#N`);
    if (r.summary.trim() === '') throw new Error(`report ${r.ref} has no summary`);
  }
  const dependents = list('dependents').map((d) => {
    if (typeof d !== 'string' || !d.startsWith('AWS::')) throw new Error(`dependent ${JSON.stringify(d)} is not an AWS:: type`);
    return d;
  });
  const satisfiedBy = list('satisfiedBy').map((a) => {
    const alt = isPlainObject(a) ? a : {};
    if (Object.keys(alt).some((k) => k !== 'service' && k !== 'roleName') || typeof alt.service !== 'string' || typeof alt.roleName !== 'string') {
      throw new Error(`satisfiedBy ${JSON.stringify(a)} is not {service, roleName}`);
    }
    checkNamed('satisfiedBy', alt.service, alt.roleName);
    if (asciiLower(alt.service) === asciiLower(service)) throw new Error("satisfiedBy names the row's own service");
    return { service: alt.service, roleName: alt.roleName };
  });
  return { resourceType, service, roleName, when: list('when').map(parseClause), tier, source, dependents, satisfiedBy };
}

function checkNamed(what: string, service: string, role: string): void {
  if (!service.endsWith('.amazonaws.com') || service.length <= '.amazonaws.com'.length) throw new Error(`${what} ${JSON.stringify(service)} is not a service principal`);
  if (!role.startsWith('AWSServiceRoleFor')) throw new Error(`${what}'s role ${JSON.stringify(role)} is not a service-linked role's name`);
}

/** Reads a clause of the table, or says what is wrong with it. */
export function parseClause(value: unknown): Clause {
  if (!isPlainObject(value)) throw new Error(`a clause is ${JSON.stringify(value)}, not an object`);
  const unknownKey = Object.keys(value).find((k) => k !== 'path' && !(TESTS as readonly string[]).includes(k));
  if (unknownKey !== undefined) throw new Error(`a clause has the unknown key ${JSON.stringify(unknownKey)}`);
  const tests = TESTS.filter((t) => t in value);
  if (tests.length !== 1) throw new Error(`a clause needs exactly one of ${TESTS.join(', ')}, has ${JSON.stringify(value)}`);
  const test = tests[0];
  const argument = value[test];
  if (test === 'any' || test === 'all') {
    if ('path' in value) throw new Error(`\`${test}\` takes no path: ${JSON.stringify(value)}`);
    return { kind: test, clauses: clauses(test, argument) };
  }
  if (typeof value.path !== 'string') throw new Error(`\`${test}\` needs a path, a string: ${JSON.stringify(value)}`);
  const steps = value.path.split('.');
  if (steps.some((s) => s === '')) throw new Error(`the path ${JSON.stringify(value.path)} has an empty step`);
  switch (test) {
    case 'is':
      if (argument !== 'present' && argument !== 'absent') throw new Error(`\`is\` is present or absent, not ${JSON.stringify(argument)}`);
      return { kind: 'is', path: steps, present: argument === 'present' };
    case 'oneOf':
    case 'notOneOf':
      if (!Array.isArray(argument) || argument.length === 0 || !argument.every((s) => typeof s === 'string')) {
        throw new Error(`\`${test}\` takes a non-empty list of strings, not ${JSON.stringify(argument)}`);
      }
      return { kind: test, path: steps, values: argument as string[] };
    case 'prefix':
    case 'contains':
      if (typeof argument !== 'string' || argument === '') throw new Error(`\`${test}\` takes a non-empty string, not ${JSON.stringify(argument)}`);
      return { kind: test, path: steps, text: argument };
    default:
      return { kind: test, path: steps, clauses: clauses(test, argument) };
  }
}

function clauses(test: string, argument: unknown): Clause[] {
  if (!Array.isArray(argument) || argument.length === 0) throw new Error(`\`${test}\` takes a non-empty list of clauses, not ${JSON.stringify(argument)}`);
  return argument.map(parseClause);
}

/** Whether `row` applies to a resource with `properties` (undefined or null: none). */
export function rowDecision(row: Row, properties: unknown, parameters: Parameters = {}): Decision {
  return all(row.when.map((c) => decide(c, rootOf(properties), parameters, '')));
}

type Root = Record<string, unknown> | undefined;

function rootOf(properties: unknown): Root {
  return isPlainObject(properties) ? properties : undefined;
}

const holds: Decision = { verdict: 'holds', unknown: [] };
const fails: Decision = { verdict: 'fails', unknown: [] };
const verdictOf = (b: boolean): Decision => (b ? holds : fails);

/** AND: one failing clause decides, even beside an undecided one. */
function all(decisions: Decision[]): Decision {
  if (decisions.some((d) => d.verdict === 'fails')) return fails;
  const undecided = decisions.filter((d) => d.verdict === 'undecided');
  return undecided.length ? { verdict: 'undecided', unknown: undecided.flatMap((d) => d.unknown) } : holds;
}

/** OR: one holding clause decides, even beside an undecided one. */
function any(decisions: Decision[]): Decision {
  if (decisions.some((d) => d.verdict === 'holds')) return holds;
  const undecided = decisions.filter((d) => d.verdict === 'undecided');
  return undecided.length ? { verdict: 'undecided', unknown: undecided.flatMap((d) => d.unknown) } : fails;
}

function negated(d: Decision): Decision {
  return d.verdict === 'undecided' ? d : verdictOf(d.verdict === 'fails');
}

function decide(clause: Clause, root: Root, parameters: Parameters, prefix: string): Decision {
  if (!('path' in clause)) {
    const decisions = clause.clauses.map((c) => decide(c, root, parameters, prefix));
    return clause.kind === 'any' ? any(decisions) : all(decisions);
  }
  const name = prefix + clause.path.join('.');
  const unknown: Decision = { verdict: 'undecided', unknown: [name] };
  const seen = resolve(root, clause.path, parameters, clause.kind === 'contains');
  if (seen.kind === 'unknown') return unknown;
  const absent = seen.kind === 'absent';
  const value = seen.kind === 'known' ? seen.value : undefined;
  switch (clause.kind) {
    case 'is':
      // An empty string asks the service for its default, as an omitted value does.
      return verdictOf(absent ? !clause.present : (value !== '') === clause.present);
    case 'oneOf':
      return verdictOf(!absent && clause.values.includes(canonical(value) as string));
    case 'notOneOf':
      return verdictOf(absent || !clause.values.includes(canonical(value) as string));
    case 'prefix': {
      const text = absent ? undefined : canonical(value);
      return verdictOf(text !== undefined && text.startsWith(clause.text));
    }
    case 'contains': {
      if (absent) return fails;
      const text = textOf(value, parameters);
      const needle = asciiLower(clause.text);
      if (text.fragments.some((f) => asciiLower(f).includes(needle))) return holds;
      return text.gapped ? unknown : fails;
    }
    case 'some':
      return some(seen, clause.clauses, parameters, name);
    case 'none':
      return negated(some(seen, clause.clauses, parameters, name));
  }
}

/** Whether some item of the list `seen` meets every clause. */
function some(seen: Seen, clauses: Clause[], parameters: Parameters, name: string): Decision {
  if (seen.kind !== 'known' || !Array.isArray(seen.value)) return fails;
  return any(seen.value.filter((item) => !isNoValue(item)).map((item) => {
    const element = deref(item, parameters);
    if (element.kind === 'unknown') return { verdict: 'undecided', unknown: [`${name}[]`] };
    const root = element.kind === 'known' ? plainObject(element.value) : undefined;
    return all(clauses.map((c) => decide(c, root, parameters, `${name}[].`)));
  }));
}

type Seen = { kind: 'absent' } | { kind: 'known'; value: unknown } | { kind: 'unknown' };

/** `Ref` or `Fn::X` when `value` is an intrinsic function. */
export function intrinsic(value: unknown): string | undefined {
  if (!isPlainObject(value)) return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')) ? keys[0] : undefined;
}

function isNoValue(value: unknown): boolean {
  return intrinsic(value) === 'Ref' && (value as { Ref: unknown }).Ref === 'AWS::NoValue';
}

/** A value with a `Ref` to a known parameter read (once: a parameter's value is taken as it is). */
function deref(value: unknown, parameters: Parameters): Seen {
  const fn = intrinsic(value);
  if (fn === undefined) return value === null || value === undefined ? { kind: 'absent' } : { kind: 'known', value };
  if (isNoValue(value)) return { kind: 'absent' };
  const target = (value as { Ref?: unknown }).Ref;
  if (fn === 'Ref' && typeof target === 'string' && Object.prototype.hasOwnProperty.call(parameters, target)) {
    return { kind: 'known', value: parameters[target] };
  }
  return { kind: 'unknown' };
}

/** The member `name`: exactly, or else the one key equal under ASCII case folding (L1 properties are camelCase). */
function lookup(object: Record<string, unknown>, name: string): Seen & { kind: 'absent' | 'unknown' } | { kind: 'found'; value: unknown } {
  if (Object.prototype.hasOwnProperty.call(object, name)) return { kind: 'found', value: object[name] };
  const folded = Object.keys(object).filter((k) => asciiLower(k) === asciiLower(name));
  if (folded.length === 0) return { kind: 'absent' };
  return folded.length === 1 ? { kind: 'found', value: object[folded[0]] } : { kind: 'unknown' };
}

/**
 * The value at `path` from `root`, each step's value read through `deref`; a path through
 * anything but an object is absent. `raw`: the last value as it stands (`contains` reads
 * `Fn::Sub` and `Fn::Join` itself).
 */
function resolve(root: Root, steps: string[], parameters: Parameters, raw: boolean): Seen {
  let object = root;
  for (const [i, step] of steps.entries()) {
    if (object === undefined) return { kind: 'absent' };
    const found = lookup(object, step);
    if (found.kind !== 'found') return found;
    const last = i + 1 === steps.length;
    if (last && raw) return found.value === undefined ? { kind: 'absent' } : { kind: 'known', value: found.value };
    const seen = deref(found.value, parameters);
    if (last || seen.kind !== 'known') return seen;
    object = plainObject(seen.value);
    if (object === undefined) return { kind: 'absent' };
  }
  return { kind: 'absent' };
}

/**
 * A scalar as the string `oneOf`, `notOneOf` and `prefix` compare: CloudFormation takes `true`
 * and `"true"`, `2` and `"2"` alike. Undefined for lists, objects and fractions.
 */
function canonical(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  if (typeof value === 'number' && Number.isInteger(value) && Math.abs(value) <= MAX_SAFE) return String(value === 0 ? 0 : value);
  return undefined;
}

/** The text of a value as far as the template tells it: runs of known text, and whether a gap cut them. */
interface Text {
  fragments: string[];
  gapped: boolean;
}

function textOf(value: unknown, parameters: Parameters): Text {
  const text: Text = { fragments: [], gapped: false };
  addText(text, value, parameters);
  return text;
}

function addText(text: Text, value: unknown, parameters: Parameters): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((item) => addText(text, item, parameters));
    return;
  }
  const fn = intrinsic(value);
  if (fn !== undefined) {
    const argument = (value as Record<string, unknown>)[fn];
    if (isNoValue(value)) return;
    if (fn === 'Ref' && typeof argument === 'string' && Object.prototype.hasOwnProperty.call(parameters, argument)) {
      // Once: what the parameter holds is read with no parameters.
      addText(text, parameters[argument], {});
    } else if (fn === 'Fn::Sub') {
      addPieces(text, substitution(argument, parameters));
    } else if (fn === 'Fn::Join') {
      addPieces(text, join(argument, parameters));
    } else {
      text.gapped = true;
    }
    return;
  }
  if (isPlainObject(value)) {
    Object.values(value).forEach((member) => addText(text, member, parameters));
    return;
  }
  const scalar = canonical(value);
  if (scalar !== undefined) text.fragments.push(scalar);
}

/** Known text, or undefined for a gap. */
type Piece = string | undefined;

function addPieces(text: Text, pieces: Piece[]): void {
  let run = '';
  for (const piece of pieces) {
    if (piece === undefined) {
      text.gapped = true;
      if (run !== '') text.fragments.push(run);
      run = '';
    } else {
      run += piece;
    }
  }
  if (run !== '') text.fragments.push(run);
}

function parameterText(name: string, parameters: Parameters): Piece {
  const value = Object.prototype.hasOwnProperty.call(parameters, name) ? parameters[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** `Fn::Sub`'s template cut at its variables: `${!X}` is the text `${X}`; `${X}` is its variable's string, else a known string parameter, else a gap. */
function substitution(argument: unknown, parameters: Parameters): Piece[] {
  let template: string;
  let variables: Record<string, unknown> | undefined;
  if (typeof argument === 'string') {
    template = argument;
  } else if (Array.isArray(argument) && argument.length === 2 && typeof argument[0] === 'string' && isPlainObject(argument[1])) {
    template = argument[0];
    variables = argument[1];
  } else {
    return [undefined];
  }
  const pieces: Piece[] = [];
  let rest = template;
  for (;;) {
    const start = rest.indexOf('${');
    if (start < 0) break;
    pieces.push(rest.slice(0, start));
    const after = rest.slice(start + 2);
    const end = after.indexOf('}');
    if (end < 0) {
      pieces.push(rest.slice(start));
      return pieces;
    }
    const name = after.slice(0, end);
    rest = after.slice(end + 1);
    if (name.startsWith('!')) pieces.push(`\${${name.slice(1)}}`);
    else if (variables !== undefined && Object.prototype.hasOwnProperty.call(variables, name)) {
      const given = variables[name];
      pieces.push(typeof given === 'string' ? given : undefined);
    } else pieces.push(parameterText(name, parameters));
  }
  pieces.push(rest);
  return pieces;
}

/** `Fn::Join`'s parts with its delimiter: strings and `Ref`s to known string parameters are text, any other part a gap. */
function join(argument: unknown, parameters: Parameters): Piece[] {
  if (!Array.isArray(argument) || argument.length !== 2 || typeof argument[0] !== 'string' || !Array.isArray(argument[1])) return [undefined];
  const [delimiter, parts] = argument as [string, unknown[]];
  const pieces: Piece[] = [];
  parts.forEach((part, i) => {
    if (i > 0) pieces.push(delimiter);
    if (typeof part === 'string') pieces.push(part);
    else if (intrinsic(part) === 'Ref' && typeof (part as { Ref: unknown }).Ref === 'string') pieces.push(parameterText((part as { Ref: string }).Ref, parameters));
    else pieces.push(undefined);
  });
  return pieces;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function plainObject(value: unknown): Root {
  return isPlainObject(value) && intrinsic(value) === undefined ? value : undefined;
}

/** A-Z to a-z only, as Rust's to_ascii_lowercase. */
export function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
