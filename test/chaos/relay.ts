/**
 * A fault-injecting TCP relay for the chaos test: it stands between a node and one peer (a node dials
 * the peer through it, `tcp.dial`) and passes bytes, delays them, swallows them silently, or resets
 * every connection, as the schedule says.
 *
 * Each relay carries one direction of one pair: node a's connection to node b (a's messages to b).
 * Cutting it is a one-way cut; cutting both relays of a pair is a partition between them.
 *
 * Invariants: bytes of one connection leave in the order they came (a delay queue per direction,
 * each chunk due no earlier than the one before it); a connection whose bytes were swallowed is
 * destroyed when the fault ends, never resumed mid-frame; queued bytes per direction are bounded
 * (relayQueueBytesMax, then the connection is reset, as a real network would eventually).
 */
import type { Server, Socket } from 'node:net';
import { connect, createServer } from 'node:net';

export type RelayMode =
  | { readonly kind: 'pass' }
  | { readonly kind: 'delay'; readonly ms: number }
  /** Bytes vanish, connections stay open: a silent partition, noticed only by silence. */
  | { readonly kind: 'blackhole' }
  /** Every connection is reset, new ones too: a partition the nodes notice at once. */
  | { readonly kind: 'reset' };

const relayQueueBytesMax = 16 * 1024 * 1024;

interface Pipe {
  readonly from: Socket;
  readonly to: Socket;
  queue: { due: number; chunk: Buffer }[];
  queuedBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  lastDue: number;
}

interface Link {
  readonly client: Socket;
  readonly upstream: Socket;
  /** Bytes were swallowed on it: it must not carry bytes again. */
  tainted: boolean;
}

export class Relay {
  private mode: RelayMode = { kind: 'pass' };
  private readonly links = new Set<Link>();
  private readonly server: Server;
  /** Connections accepted since the relay started (for tests of the relay itself). */
  accepted = 0;

  constructor(
    private readonly target: { readonly host: string; readonly port: number },
  ) {
    this.server = createServer((client) => this.onConnection(client));
  }

  listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
  }

  get kind(): RelayMode['kind'] {
    return this.mode.kind;
  }

  setMode(mode: RelayMode): void {
    const before = this.mode;
    this.mode = mode;
    if (mode.kind === 'reset') for (const link of this.links) this.destroy(link);
    // Swallowed bytes leave a hole in the stream: a connection that lost some must start over.
    if (before.kind === 'blackhole' && mode.kind !== 'blackhole') for (const link of this.links) if (link.tainted) this.destroy(link);
  }

  async close(): Promise<void> {
    for (const link of this.links) this.destroy(link);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onConnection(client: Socket): void {
    this.accepted++;
    if (this.mode.kind === 'reset') return void client.destroy();
    const upstream = connect(this.target.port, this.target.host);
    const link: Link = { client, upstream, tainted: false };
    this.links.add(link);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const there = this.pipe(link, client, upstream);
    const back = this.pipe(link, upstream, client);
    const end = () => {
      for (const p of [there, back]) clearTimeout(p.timer);
      this.destroy(link);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  }

  private pipe(link: Link, from: Socket, to: Socket): Pipe {
    const pipe: Pipe = { from, to, queue: [], queuedBytes: 0, timer: undefined, lastDue: 0 };
    from.on('data', (chunk: Buffer) => {
      const mode = this.mode;
      if (mode.kind === 'blackhole') {
        link.tainted = true;
        return;
      }
      if (mode.kind === 'reset') return this.destroy(link);
      const due = Math.max(performance.now() + (mode.kind === 'delay' ? mode.ms : 0), pipe.lastDue);
      pipe.lastDue = due;
      pipe.queue.push({ due, chunk });
      pipe.queuedBytes += chunk.byteLength;
      if (pipe.queuedBytes > relayQueueBytesMax) return this.destroy(link);
      this.drain(pipe);
    });
    return pipe;
  }

  private drain(pipe: Pipe): void {
    if (pipe.timer !== undefined) return;
    const now = performance.now();
    while (pipe.queue.length > 0 && pipe.queue[0]!.due <= now) {
      const { chunk } = pipe.queue.shift()!;
      pipe.queuedBytes -= chunk.byteLength;
      if (!pipe.to.destroyed) pipe.to.write(chunk);
    }
    const next = pipe.queue[0];
    if (next === undefined) return;
    pipe.timer = setTimeout(() => {
      pipe.timer = undefined;
      this.drain(pipe);
    }, Math.max(1, next.due - now));
  }

  private destroy(link: Link): void {
    if (!this.links.delete(link)) return;
    link.client.destroy();
    link.upstream.destroy();
  }
}
