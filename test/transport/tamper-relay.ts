/**
 * An attacker on the path, for tests: a TCP relay on 127.0.0.1 that a dialer (a node or a client) is
 * pointed at and that passes each connection on to the real acceptor. It lets the handshake through
 * untouched (the first two frames each way: hello and proof, challenge and welcome) and then hands
 * every later frame, whole (its length prefix and, when `tagBytes` is set, its tag), to `tamper`, which
 * may pass it, alter it, drop it, or put other frames before it.
 *
 * With `tls`, the relay terminates TLS on both sides instead (a server towards the dialer with its own
 * certificate, a client towards the acceptor): what a man in the middle can do against verifyMode
 * 'none'. It then only pipes the plaintext, both ways.
 */
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls';

/** Which way a frame goes: from the dialer to the acceptor, or back. */
export type Way = 'toAcceptor' | 'toDialer';

/** Frames to send instead of `frame` (the `index`-th after the handshake going `way`); undefined passes it. */
export type Tamper = (way: Way, frame: Buffer, index: number) => readonly Uint8Array[] | undefined;

/** Frames each way that belong to the handshake and are never tampered with. */
const handshakeFrames = 2;

export class TamperRelay {
  tamper: Tamper | undefined;
  /** Connections the relay has accepted. */
  accepted = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;

  private constructor(
    private readonly target: number,
    private readonly tagBytes: number,
    private readonly tls: { readonly cert: Buffer; readonly key: Buffer } | undefined,
  ) {
    this.server = tls === undefined
      ? createServer((socket) => this.onConnection(socket))
      : createTlsServer({ cert: tls.cert, key: tls.key }, (socket) => this.onConnection(socket));
  }

  /** A relay to 127.0.0.1:`target`; `tagBytes`: the tag after each frame past the handshake. */
  static async start(target: number, options: { readonly tagBytes: number; readonly tls?: { readonly cert: Buffer; readonly key: Buffer } }): Promise<TamperRelay> {
    const relay = new TamperRelay(target, options.tagBytes, options.tls);
    await new Promise<void>((resolve) => relay.server.listen(0, '127.0.0.1', () => resolve()));
    return relay;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private onConnection(dialer: Socket | TLSSocket): void {
    this.accepted++;
    const acceptor: Socket = this.tls === undefined
      ? connect({ host: '127.0.0.1', port: this.target })
      : tlsConnect({ host: '127.0.0.1', port: this.target, rejectUnauthorized: false, cert: this.tls.cert, key: this.tls.key });
    for (const socket of [dialer, acceptor]) {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => {
        this.sockets.delete(socket);
        dialer.destroy();
        acceptor.destroy();
      });
    }
    this.pipe(dialer, acceptor, 'toAcceptor');
    this.pipe(acceptor, dialer, 'toDialer');
  }

  /** Splits `from`'s bytes into frames and writes them (or what `tamper` makes of them) to `to`. */
  private pipe(from: Socket, to: Socket, way: Way): void {
    let held = Buffer.alloc(0);
    let frames = 0;
    from.on('data', (chunk: Buffer) => {
      if (this.tls !== undefined) return void to.write(chunk);
      held = Buffer.concat([held, chunk]);
      for (;;) {
        if (held.byteLength < 4) return;
        const tag = frames < handshakeFrames ? 0 : this.tagBytes;
        const size = 4 + held.readUInt32BE(0) + tag;
        if (held.byteLength < size) return;
        const frame = held.subarray(0, size);
        held = held.subarray(size);
        const index = frames++ - handshakeFrames;
        const out = index < 0 ? undefined : this.tamper?.(way, Buffer.from(frame), index);
        for (const bytes of out ?? [frame]) to.write(bytes);
      }
    });
  }
}

/** A tamper that acts once, on the first frame going `way` that holds `marker`, and passes everything else. */
export function once(way: Way, marker: string, act: (frame: Buffer, at: number) => readonly Uint8Array[]): Tamper {
  let done = false;
  return (w, frame) => {
    const at = frame.indexOf(marker);
    if (done || w !== way || at < 0) return undefined;
    done = true;
    return act(frame, at);
  };
}
