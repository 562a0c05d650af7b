/**
 * Assertions for programmer errors (house rule 4). They stay on in production: a broken invariant
 * crashes loudly with a message instead of corrupting state quietly. Operating errors (a peer gone,
 * a full mailbox) are never asserted; they are typed errors or result values.
 */

export class AssertionError extends Error {
  override readonly name = 'AssertionError';
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new AssertionError(message);
}

/** Ends an exhaustive switch over a discriminated union: compiling proves every case is handled. */
export function assertNever(value: never, what = 'value'): never {
  throw new AssertionError(`unexpected ${what}: ${JSON.stringify(value)}`);
}
