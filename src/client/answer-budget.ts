/**
 * The client port's node-wide bound on answer bytes held in memory for clients that read slowly, or
 * never (`client.queuedAnswerBytesMax`). Each connection's own bound (outgoingBytesMax) keeps one
 * client from pinning much, but a thousand of them would pin a thousand times that; this is the sum.
 *
 * How a slow reader slows only itself:
 * - Each connection has a share: the budget divided among the connected clients plus one (so there is
 *   always room for one more, and a lone client is paused before it fills the budget). Once its answers
 *   waiting to leave reach the share, its socket is paused (TCP pushes back on the client) and requests
 *   already read wait here, in arrival order, to run one at a time as its answers drain.
 * - An answer that would take the total past the budget first disconnects the client holding the most
 *   answer bytes past its share (if that is another client): a client that does not read should not
 *   keep the node from answering the others. If it still does not fit, the server answers the request
 *   OVERLOADED instead (a read; a write's answer is always sent, since it says what happened).
 *
 * Invariants: `total` is the sum of the open connections' `queuedBytes`; a connection's queuedBytes are
 * the answers handed to its socket whose write has not completed (the socket calls `written` once per
 * answer, in order); a closed connection leaves the total at once (its socket's buffers go with it).
 * Requests waiting here count as in flight for the server (clientRequestsInFlightMax bounds them).
 */
import type { Connection } from '../transport/tcp/connection.js';

interface Account<R> {
  queuedBytes: number;
  /** Sizes of the answers handed to the socket, oldest first: the socket completes writes in order. */
  readonly sizes: number[];
  /** Requests waiting for the answers to drain below the share, oldest first. */
  readonly waiting: R[];
  /** Requests that came from `waiting` and are running (at most one). */
  running: number;
  paused: boolean;
  closed: boolean;
  readonly written: () => void;
}

/** `R`: a checked request, run by `start` (told whether it had to wait, for `settled`). */
export class AnswerBudget<R> {
  private readonly accounts = new Map<Connection, Account<R>>();
  private totalBytes = 0;

  constructor(
    readonly bytesMax: number,
    /** Disconnects a client that holds too much of the budget (the reason names it). */
    private readonly evict: (connection: Connection, reason: string) => void,
    private readonly start: (connection: Connection, request: R, waited: boolean) => void,
  ) {}

  /** Answer bytes waiting to leave, all connections together. */
  get total(): number {
    return this.totalBytes;
  }

  /** One connection's share of the budget now. */
  shareBytes(): number {
    return Math.floor(this.bytesMax / (this.accounts.size + 1));
  }

  open(connection: Connection): void {
    const account: Account<R> = {
      queuedBytes: 0, sizes: [], waiting: [], running: 0, paused: false, closed: false,
      written: () => this.onWritten(connection, account),
    };
    this.accounts.set(connection, account);
  }

  close(connection: Connection): void {
    const account = this.accounts.get(connection);
    if (account === undefined) return;
    this.accounts.delete(connection);
    account.closed = true;
    this.totalBytes -= account.queuedBytes;
    account.queuedBytes = 0;
    account.waiting.length = 0;
  }

  /** Runs a request now, or once the connection's answers are below its share (in arrival order). */
  run(connection: Connection, request: R): void {
    const account = this.accounts.get(connection);
    if (account === undefined) return;
    if (account.waiting.length === 0 && account.queuedBytes < this.shareBytes()) return this.start(connection, request, false);
    account.waiting.push(request);
  }

  /** A request `start`ed with `waited` has its answer handed over: the next waiting one may run. */
  settled(connection: Connection, waited: boolean): void {
    const account = this.accounts.get(connection);
    if (account === undefined || !waited) return;
    account.running--;
    this.next(connection, account);
  }

  /**
   * Whether an answer of `bytes` fits the budget; when it would not, the client holding the most
   * answer bytes past its share is disconnected first, unless that is this one.
   */
  fits(connection: Connection, bytes: number): boolean {
    if (this.totalBytes + bytes <= this.bytesMax) return true;
    let hog: Connection | undefined;
    let most = this.shareBytes();
    for (const [other, account] of this.accounts) {
      if (account.queuedBytes > most) [hog, most] = [other, account.queuedBytes];
    }
    if (hog !== undefined && hog !== connection) {
      this.evict(hog, `the client does not read its answers: ${most} bytes of them waited while the node's answer budget was full (client.queuedAnswerBytesMax ${this.bytesMax})`);
      this.close(hog); // in case the eviction did not report the close synchronously
    }
    return this.totalBytes + bytes <= this.bytesMax;
  }

  /** Counts an answer handed to the connection's socket; returns what its write must call when done. */
  queued(connection: Connection, bytes: number): (() => void) | undefined {
    const account = this.accounts.get(connection);
    if (account === undefined) return undefined;
    account.sizes.push(bytes);
    account.queuedBytes += bytes;
    this.totalBytes += bytes;
    if (!account.paused && account.queuedBytes >= this.shareBytes()) {
      account.paused = true;
      connection.pauseReading();
    }
    return account.written;
  }

  private onWritten(connection: Connection, account: Account<R>): void {
    if (account.closed) return;
    const bytes = account.sizes.shift() ?? 0;
    account.queuedBytes -= bytes;
    this.totalBytes -= bytes;
    if (account.paused && account.queuedBytes < this.shareBytes()) {
      account.paused = false;
      connection.resumeReading();
    }
    this.next(connection, account);
  }

  /** Runs the oldest waiting request when none of them is running and the answers are below the share. */
  private next(connection: Connection, account: Account<R>): void {
    if (account.closed || account.running > 0 || account.queuedBytes >= this.shareBytes()) return;
    const request = account.waiting.shift();
    if (request === undefined) return;
    account.running++;
    this.start(connection, request, true);
  }
}
