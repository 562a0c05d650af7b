/**
 * An attacker on the path, for tests: a TCP relay on 127.0.0.1 that a dialer (a node or a client) is
 * pointed at and that passes each connection on to the real acceptor. It lets the handshake through
 * untouched (the first two frames each way: hello and proof, challenge and welcome) and then hands
 * every later run (its frames, each whole, then its tag record: frame-mac.ts) to `tamper`, which may
 * pass it, alter it, drop it, or put other bytes before or after it.
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

/**
 * What to send instead of `run` (the `index`-th after the handshake going `way`: its frames, then its tag
 * record); undefined passes it.
 */
export type Tamper = (way: Way, run: readonly Buffer[], index: number) => readonly Uint8Array[] | undefined;

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

  /** A relay to 127.0.0.1:`target`; `tagBytes`: the tag in each tag record after the handshake. */
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

  /** Splits `from`'s bytes into frames and runs and writes them (or what `tamper` makes of runs) to `to`. */
  private pipe(from: Socket, to: Socket, way: Way): void {
    let held = Buffer.alloc(0);
    let frames = 0;
    let runs = 0;
    let run: Buffer[] = [];
    from.on('data', (chunk: Buffer) => {
      if (this.tls !== undefined) return void to.write(chunk);
      held = Buffer.concat([held, chunk]);
      for (;;) {
        if (held.byteLength < 4) return;
        const length = held.readUInt32BE(0);
        const size = 4 + (length === 0 ? this.tagBytes : length);
        if (held.byteLength < size) return;
        const unit = Buffer.from(held.subarray(0, size));
        held = held.subarray(size);
        if (frames++ < handshakeFrames) {
          to.write(unit);
          continue;
        }
        run.push(unit);
        if (length !== 0) continue;
        const whole = run;
        run = [];
        for (const bytes of this.tamper?.(way, whole, runs++) ?? whole) to.write(bytes);
      }
    });
  }
}

/** A tamper that acts once, on the first run going `way` that holds `marker` (in its frame `frame`, at `at`), and passes everything else. */
export function once(way: Way, marker: string, act: (run: readonly Buffer[], frame: number, at: number) => readonly Uint8Array[]): Tamper {
  let done = false;
  return (w, run) => {
    const frame = run.findIndex((bytes) => bytes.includes(marker));
    if (done || w !== way || frame < 0) return undefined;
    done = true;
    return act(run, frame, run[frame]!.indexOf(marker));
  };
}

/** `run` with `marker` (at `at` of its frame `frame`) overwritten by `text` of the same length. */
export function rewrite(run: readonly Buffer[], frame: number, at: number, text: string): Buffer[] {
  return run.map((bytes, i) => {
    if (i !== frame) return bytes;
    const copy = Buffer.from(bytes);
    copy.write(text, at);
    return copy;
  });
}
