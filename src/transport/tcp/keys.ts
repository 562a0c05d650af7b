/**
 * The two credentials derived from a cluster secret, one per port:
 *
 *   peer key    HMAC-SHA-256(secret, "chorusdb peer")    what nodes prove to each other (peer port)
 *   client key  HMAC-SHA-256(secret, "chorusdb client")  what clients prove to a node's client port
 *   named key   HMAC-SHA-256(secret, "chorusdb client NAME")  what a client connecting as NAME proves
 *               instead (connect's clientName): revoked alone by naming it in a node's client.revoked
 *
 * HMAC is one-way: from a client key nobody can compute the secret or the peer key, so an application
 * given the client key (never the secret) cannot pass the peer port's handshake as a node and speak
 * Raft. A node derives both from its secret; nothing else is ever keyed by the secret itself.
 *
 * The client key's text form is 64 lowercase hex digits (`chorus client-key --config FILE` prints it,
 * `clientKeyFor(secret)` computes it). Invariant: no message produced here contains a key or secret.
 */
import { createHmac } from 'node:crypto';
import { invalidArgument } from '../../runtime/errors.js';

/** Bytes of a derived key (SHA-256). */
export const derivedKeyBytes = 32;

const derive = (secret: Uint8Array, label: string): Uint8Array => new Uint8Array(createHmac('sha256', secret).update(label).digest());

/** The key peers prove knowledge of on the peer port. */
export function peerKey(secret: Uint8Array): Uint8Array {
  return derive(secret, 'chorusdb peer');
}

/** A client name (connect's clientName, a node's client.revoked): 1 to 64 of A-Z a-z 0-9 . _ - */
const clientNamePattern = /^[A-Za-z0-9._-]{1,64}$/;

/** What `name` should be, and was ("1 to 64 of ..., got ..."), when it is no client name; undefined when it is one. */
export function clientNameProblem(name: unknown): string | undefined {
  return typeof name === 'string' && clientNamePattern.test(name) ? undefined : `1 to 64 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(name)}`;
}

/** The key clients prove knowledge of on the client port: the cluster's, or the one of client `name`. */
export function clientKey(secret: Uint8Array, name?: string): Uint8Array {
  return derive(secret, name === undefined ? 'chorusdb client' : `chorusdb client ${name}`);
}

/** The client key of a cluster secret as text (of client `name`, if given): what operators hand to applications. */
export function clientKeyFor(secret: string | Uint8Array, name?: string): string {
  const problem = name === undefined ? undefined : clientNameProblem(name);
  if (problem !== undefined) throw invalidArgument('clientKeyFor', `a client name is ${problem}`);
  const bytes = typeof secret === 'string' ? new TextEncoder().encode(secret) : secret;
  return Buffer.from(clientKey(bytes, name)).toString('hex');
}

/**
 * A client key given to `connect`: 64 hex digits, or its 32 bytes. Throws INVALID_ARGUMENT naming the
 * option, never echoing the value (it may be a key, or the cluster secret given by mistake).
 */
export function parseClientKey(api: string, value: unknown): Uint8Array {
  if (value instanceof Uint8Array && value.byteLength === derivedKeyBytes) return Uint8Array.from(value);
  if (typeof value === 'string' && /^[0-9a-fA-F]{64}$/.test(value.trim())) return new Uint8Array(Buffer.from(value.trim(), 'hex'));
  const what = typeof value === 'string' ? `a string of ${value.length} characters` : value instanceof Uint8Array ? `${value.byteLength} bytes` : `a ${value === null ? 'null' : typeof value}`;
  throw invalidArgument(api, `clientKey must be the cluster's client key: 64 hex digits as \`chorus client-key --config FILE\` prints them (not the cluster secret), got ${what}`);
}
