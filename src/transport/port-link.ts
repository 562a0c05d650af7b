/**
 * One side of a batching, credit-counted link over a MessagePort (used between worker threads).
 *
 * Batching: everything sent during one turn of the event loop leaves in one postMessage (flushed from
 * a microtask), up to `portBatchMessagesMax` items a post. A thread hop costs ~15–20 µs on these
 * machines whatever it carries, so batching is what buys throughput.
 *
 * Credits (the mailbox bound across threads): a sender may have at most `limit` counted items that
 * the receiver has not yet processed. The receiver returns credits as it processes, piggybacked on its
 * own traffic or in a credit-only post once a quarter of the window is owed. The sender's count is
 * therefore exact or conservative, never optimistic, so the receiver's queue never exceeds `limit`.
 *
 * Items sent with `post` are not counted (lifecycle control such as stop requests, which must never be
 * refused); the receiver's handler returns how many of a batch's items were counted.
 *
 * A batch of plain data travels as one transferred buffer written by port-codec.ts (2-4x cheaper than
 * structured clone for actor messages, measured; one backing buffer for all its byte arrays); a batch
 * holding anything else, and the items of `postTransfer`, go by structured clone, so what the receiver
 * gets is what structured clone would give either way.
 *
 * Unsendable items: an item structured clone refuses (a function, a socket) makes postMessage throw, and
 * it would throw in a microtask nobody catches (the process or the worker dies, the batch's other items
 * with it). Instead the batch goes again item by item, every item that can go goes, and the others are
 * reported to `onUnsendable` and taken off the counts (`sent`, credits), so a stop still drains exactly.
 */
import { receiveMessageOnPort } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { portBatchMessagesMax } from '../limits.js';
import { PortDecoder, PortEncoder } from './port-codec.js';
import type { EchoRegistry } from './port-codec.js';

/** What one postMessage carries: credits returned to the other side, and items (encoded, or cloned). */
type Batch = { readonly c: number; readonly b: Uint8Array } | { readonly c: number; readonly m: readonly unknown[] };

export class PortLink {
  /** Counted items sent / received over the link's lifetime. */
  sent = 0;
  received = 0;
  private inFlight = 0;
  private owed = 0;
  private outbox: unknown[] = [];
  private flushQueued = false;
  private closed = false;
  private readonly creditThreshold: number;
  private readonly onBatch: (value: unknown) => void;
  private readonly encoder: PortEncoder;
  private readonly decoder: PortDecoder;
  /** Items queued with `post` (uncounted) and not yet flushed: a lost one returns no credit. */
  private readonly uncounted = new Set<unknown>();

  /**
   * `onItems` handles one batch of items and returns how many of them were counted items; their
   * credits go back to the sender. `onUnsendable`: items structured clone refused, with its error (see
   * the header); they were not sent. `echoes`: given on the main thread only (see port-codec.ts).
   */
  constructor(
    private readonly port: MessagePort,
    readonly limit: number,
    onItems: (items: readonly unknown[]) => number,
    private readonly onUnsendable: (error: Error, items: readonly unknown[]) => void,
    echoes?: EchoRegistry,
  ) {
    this.encoder = new PortEncoder(echoes);
    this.decoder = new PortDecoder(echoes);
    this.creditThreshold = Math.max(1, Math.floor(limit / 4));
    this.onBatch = (value) => {
      const batch = value as Batch;
      this.inFlight -= batch.c;
      const items = 'b' in batch ? this.decoder.decode(batch.b) : batch.m;
      if (items.length === 0) return;
      const counted = onItems(items);
      this.received += counted;
      this.credit(counted);
    };
    port.on('message', this.onBatch);
  }

  /**
   * Takes one waiting batch off the port synchronously, without going through the event loop (for a
   * thread that spins while traffic is hot); false when none was waiting.
   */
  pollSync(): boolean {
    if (this.closed) return false;
    const received = receiveMessageOnPort(this.port);
    if (received === undefined) return false;
    this.onBatch(received.message);
    return true;
  }

  /** Queues a counted item; false (nothing queued) when the receiver holds `limit` unprocessed ones. */
  trySend(item: unknown): boolean {
    if (this.closed || this.inFlight >= this.limit) return false;
    this.inFlight++;
    this.sent++;
    this.enqueue(item);
    return true;
  }

  /** Queues an uncounted item: lifecycle control that must never be refused for want of credit. */
  post(item: unknown): void {
    if (this.closed) return;
    this.uncounted.add(item);
    this.enqueue(item);
  }

  /** Sends an uncounted item now, after everything queued, transferring `transfer` (MessagePorts). */
  postTransfer(item: unknown, transfer: readonly MessagePort[]): void {
    if (this.closed) return;
    this.flush();
    const batch: Batch = { c: this.owed, m: [item] };
    this.owed = 0;
    this.port.postMessage(batch, transfer as MessagePort[]);
  }

  /** Sends what is queued now instead of at the end of the turn. */
  flush(): void {
    this.flushQueued = false;
    if (this.closed) return;
    while (this.outbox.length > 0 || this.owed > 0) {
      const items = this.outbox.length <= portBatchMessagesMax ? this.outbox : this.outbox.slice(0, portBatchMessagesMax);
      this.outbox = items === this.outbox ? [] : this.outbox.slice(portBatchMessagesMax);
      const bytes = items.length === 0 ? undefined : this.encoder.encode(items);
      const batch: Batch = bytes === undefined ? { c: this.owed, m: items } : { c: this.owed, b: bytes };
      const owed = this.owed;
      this.owed = 0;
      if (bytes !== undefined) this.port.postMessage(batch, [bytes.buffer as ArrayBuffer]);
      else if (!this.tryPost(batch)) this.postEach(items, owed);
    }
    this.uncounted.clear();
  }

  /** Posts a batch that goes by structured clone; false (nothing sent) when structured clone refuses it. */
  private tryPost(batch: Batch): boolean {
    try {
      this.port.postMessage(batch);
      return true;
    } catch (error) {
      if (!(error instanceof Error) || error.name !== 'DataCloneError') throw error;
      return false;
    }
  }

  /** A batch structured clone refused: each item alone, the credits with the first; the refused ones reported. */
  private postEach(items: readonly unknown[], owed: number): void {
    const refused: unknown[] = [];
    let cause: Error | undefined;
    let credits = owed;
    for (const item of items) {
      try {
        this.port.postMessage({ c: credits, m: [item] } satisfies Batch);
        credits = 0;
      } catch (error) {
        if (!(error instanceof Error) || error.name !== 'DataCloneError') throw error;
        cause ??= error;
        refused.push(item);
        if (!this.uncounted.has(item)) {
          this.sent--;
          this.inFlight--;
        }
      }
    }
    if (credits > 0) this.port.postMessage({ c: credits, m: [] } satisfies Batch);
    if (cause !== undefined) this.onUnsendable(cause, refused);
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.port.close();
  }

  private credit(count: number): void {
    if (count === 0) return;
    this.owed += count;
    if (this.owed >= this.creditThreshold) this.scheduleFlush();
  }

  private enqueue(item: unknown): void {
    this.outbox.push(item);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => this.flush());
  }
}
