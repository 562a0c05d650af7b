/**
 * Defence in depth against replicas parting. The node that makes a write applies the form its
 * transaction prepared; every other node decodes the change-set's bytes and prepares them again with the
 * wire's checks. Whatever the two disagree on (a value the writer accepts and the wire refuses, or reads
 * back different: NaN keys, -0, infinite numbers and lone surrogates were all found this way) applies on
 * the writer alone and splits the replicas. `wireDifference` compares the writer's prepared form with
 * the one its bytes give; the store refuses the write when they differ, before it leaves the node.
 */
import type { RangeRead, Touched } from './certify.js';
import type { KeyRange } from './keys.js';
import type { Value } from './values.js';
import type { Prepared, PreparedWrite } from './write-tx.js';

/** Where the prepared form of the bytes differs from the writer's, described; undefined when it does not. */
export function wireDifference(ours: Prepared, theirs: Prepared): string | undefined {
  if (ours.snapshot !== theirs.snapshot) return `snapshot ${ours.snapshot} reads back as ${theirs.snapshot}`;
  if (ours.puts.length !== theirs.puts.length) return `${ours.puts.length} writes read back as ${theirs.puts.length}`;
  for (let i = 0; i < ours.puts.length; i++) {
    const problem = writeDifference(ours.puts[i]!, theirs.puts[i]!);
    if (problem !== undefined) return `write ${i} (table ${ours.puts[i]!.table.name}): ${problem}`;
  }
  if (ours.reads.length !== theirs.reads.length) return `${ours.reads.length} reads read back as ${theirs.reads.length}`;
  for (let i = 0; i < ours.reads.length; i++) if (!sameTouched(ours.reads[i]!, theirs.reads[i]!)) return `read ${i} (table ${ours.reads[i]!.table.name}): key ${String(ours.reads[i]!.key)} reads back as ${String(theirs.reads[i]!.key)}`;
  if (ours.ranges.length !== theirs.ranges.length) return `${ours.ranges.length} ranges read back as ${theirs.ranges.length}`;
  for (let i = 0; i < ours.ranges.length; i++) if (!sameRange(ours.ranges[i]!, theirs.ranges[i]!)) return `range ${i} (table ${ours.ranges[i]!.table.name}) reads back different`;
  return undefined;
}

function writeDifference(ours: PreparedWrite, theirs: PreparedWrite): string | undefined {
  if (ours.table.name !== theirs.table.name) return `reads back as table ${theirs.table.name}`;
  if (!Object.is(ours.key, theirs.key)) return `key ${String(ours.key)} reads back as ${String(theirs.key)}`;
  if ((ours.row === null) !== (theirs.row === null)) return ours.row === null ? 'a delete reads back as a put' : 'a put reads back as a delete';
  if (ours.row === null || theirs.row === null) return undefined;
  for (const field of ours.table.fields) {
    if (!sameValue(ours.row[field.name] as Value, theirs.row[field.name] as Value)) return `field ${field.name} reads back different`;
  }
  return undefined;
}

function sameTouched(a: Touched, b: Touched): boolean {
  return a.table.name === b.table.name && Object.is(a.key, b.key);
}

function sameRange(a: RangeRead, b: RangeRead): boolean {
  return a.table.name === b.table.name && a.index?.name === b.index?.name && sameKeyRange(a.range, b.range);
}

function sameKeyRange(a: KeyRange, b: KeyRange): boolean {
  return Object.is(a.low, b.low) && Object.is(a.high, b.high) && a.lowInclusive === b.lowInclusive && a.highInclusive === b.highInclusive;
}

/** Values as stored: Object.is for scalars (-0 and 0, NaN), bytes by content, arrays element by element. */
function sameValue(a: Value, b: Value): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return a.byteLength === b.byteLength && a.every((byte, i) => byte === b[i]);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((value, i) => sameValue(value as Value, b[i] as Value));
  return false;
}
