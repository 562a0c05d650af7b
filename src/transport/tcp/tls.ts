/**
 * TLS for the TCP transport (`sslParams`): loading the PEM files once, the options both sides use, and
 * the checks on a peer's certificate after the TLS handshake.
 *
 * Mutual authentication (verifyMode 'peer'): the acceptor requests a certificate and the dialer checks
 * the acceptor's, both against caFile. The acceptor does not let node:tls drop a bad certificate
 * silently (that surfaces as a bare "socket hang up"); it checks `authorized` itself before reading a
 * single byte, so that the refusal is logged with OpenSSL's reason. The dialer also checks the name in
 * the acceptor's certificate against the host it dialed (Node's checkServerIdentity).
 *
 * OpenSSL's verify depth has no Node option; it is checked here on the chain the peer presented.
 * `max_cert_list` has no Node equivalent and is not offered.
 *
 * Channel binding: the HMAC handshake's proofs cover keying material exported from the TLS session
 * (RFC 5705, `tlsBinding`), which both ends of one session share and nobody else can compute, so a man
 * in the middle that terminates TLS towards each end (possible with verifyMode 'none') cannot relay
 * the handshake: its two sessions have two different bindings (handshake.ts).
 */
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { ConnectionOptions, DetailedPeerCertificate, SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import { createSecureContext } from 'node:tls';
import type { Endpoint, ResolvedTcpConfig } from './config.js';
import { invalidArgument } from '../../runtime/errors.js';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly ciphers: string | undefined;
  /** verifyMode 'peer'. */
  readonly verify: boolean;
  readonly verifyDepth: number;
}

type Ssl = NonNullable<ResolvedTcpConfig['ssl']>;

async function readPem(key: string, path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw invalidArgument('TcpNetwork.listen', `sslParams.${key}: cannot read ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}

/** Reads and checks the files once, at listen; errors name the sslParams key. */
export async function loadTls(ssl: Ssl): Promise<TlsMaterial> {
  const material: TlsMaterial = {
    cert: await readPem('certFile', ssl.certFile),
    key: await readPem('keyFile', ssl.keyFile),
    ca: ssl.caFile === undefined ? undefined : await readPem('caFile', ssl.caFile),
    ciphers: ssl.ciphers,
    verify: ssl.verifyMode === 'peer',
    verifyDepth: ssl.verifyDepth,
  };
  try {
    createSecureContext(contextOptions(material));
  } catch (error) {
    // OpenSSL's message names the problem (bad PEM, key does not match certificate, no cipher match);
    // it never contains key material.
    throw invalidArgument('TcpNetwork.listen', `sslParams: ${(error as Error).message}`);
  }
  return material;
}

function contextOptions(m: TlsMaterial): SecureContextOptions {
  return { cert: m.cert, key: m.key, ...(m.ca !== undefined ? { ca: m.ca } : {}), ...(m.ciphers !== undefined ? { ciphers: m.ciphers } : {}) };
}

/** Options for tls.createServer. Certificates are checked in `checkPeer`, not by node:tls (see above). */
export function serverOptions(m: TlsMaterial, handshakeTimeoutMs: number): TlsOptions {
  return { ...contextOptions(m), requestCert: m.verify, rejectUnauthorized: false, handshakeTimeout: handshakeTimeoutMs };
}

/** Options for tls.connect over an already created socket. */
export function clientOptions(m: TlsMaterial, to: Endpoint): ConnectionOptions {
  return {
    ...contextOptions(m),
    host: to.host,
    // SNI takes host names only (RFC 6066); Node warns when given an IP address.
    ...(isIP(to.host) === 0 ? { servername: to.host } : {}),
    rejectUnauthorized: m.verify,
  };
}

/** Exporter label (RFC 5705 asks for labels starting "EXPORTER"). */
export const tlsExporterLabel = 'EXPORTER-chorusdb-handshake';
/** Bytes exported for the binding. */
export const tlsBindingBytes = 32;

/**
 * A secure TLS socket (after 'secureConnect', or in the server's secure callback), checked: its binding
 * for the handshake, or why it is refused (the peer's certificate, or no keying material to export).
 */
export function secured(socket: TLSSocket, m: TlsMaterial): { readonly ok: true; readonly binding: Uint8Array } | { readonly ok: false; readonly reason: string } {
  const refusal = checkPeer(socket, m);
  if (refusal !== undefined) return { ok: false, reason: refusal };
  try {
    return { ok: true, binding: new Uint8Array(socket.exportKeyingMaterial(tlsBindingBytes, tlsExporterLabel, Buffer.alloc(0))) };
  } catch (error) {
    return { ok: false, reason: `TLS: no keying material to bind the handshake to (${(error as Error).message})` };
  }
}

/** Why the peer's certificate is not acceptable, or undefined when it is (or verifyMode is 'none'). */
function checkPeer(socket: TLSSocket, m: TlsMaterial): string | undefined {
  if (!m.verify) return undefined;
  if (!socket.authorized) return `TLS: the peer's certificate was not accepted (${String(socket.authorizationError ?? 'no certificate')})`;
  const intermediates = Math.max(0, chainLength(socket.getPeerCertificate(true)) - 2);
  if (intermediates > m.verifyDepth) return `TLS: the peer's chain has ${intermediates} intermediate certificates, more than verifyDepth ${m.verifyDepth}`;
  return undefined;
}

/** Certificates from the peer's own up to the self-signed root; `seen` ends the walk on a cycle. */
function chainLength(cert: DetailedPeerCertificate): number {
  const seen = new Set<DetailedPeerCertificate>();
  for (let at: DetailedPeerCertificate | undefined = cert; at !== undefined && Object.keys(at).length > 0 && !seen.has(at); at = at.issuerCertificate) {
    seen.add(at);
  }
  return seen.size;
}
