/**
 * Operating errors of the TCP transport that reach its caller. (Bad input from peers never does: it
 * closes that one connection and is logged and counted.)
 */

/**
 * The listen address could not be bound: taken, not local, or of a family the machine lacks. `code` is
 * stable; `errno` is the system's code (EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, ...).
 */
export class TransportListenError extends Error {
  override readonly name = 'TransportListenError';
  readonly code = 'LISTEN_FAILED';
  constructor(
    readonly address: string,
    readonly errno: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

export function listenError(host: string, port: number, family: 4 | 6, error: NodeJS.ErrnoException): TransportListenError {
  const address = family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  const hint =
    error.code === 'EADDRINUSE' ? ' (the address is in use: another node or process listens there)'
    : family === 6 && (error.code === 'EADDRNOTAVAIL' || error.code === 'EAFNOSUPPORT') ? ' (is IPv6 available on this machine?)'
    : error.code === 'EADDRNOTAVAIL' ? ' (the address is not one of this machine\'s)'
    : '';
  return new TransportListenError(address, error.code, `TcpNetwork.listen: cannot listen on ${address}: ${error.code ?? error.message}${hint}`);
}
