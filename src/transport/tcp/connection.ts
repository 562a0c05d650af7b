/**
 * One TCP (or TLS) connection between two nodes, from either end: it runs the handshake under
 * `connectTimeoutMs`, then carries actor messages one way, dialer to acceptor (network.ts says why);
 * or between a client and a node's client port, then carrying requests and responses.
 *
 * Invariants:
 * - Frames leave in the order `send` was called and are never duplicated: a frame is either written
 *   once to this socket or dropped (counted), never retried elsewhere.
 * - Bytes queued here (not yet admitted, or in the socket's write buffer) never exceed
 *   `outgoingBytesMax`; past it `send` drops and says so.
 * - Until the peer is admitted, frames are bounded by tcpHandshakeFrameBytesMax, so a stranger cannot
 *   make this node buffer a large frame.
 * - Any bad input (bad length, truncation, undecodable bytes, a frame of the wrong shape or in the wrong
 *   place) closes this connection only, once, with a reason; nothing here throws into the event loop.
 * - Without TLS, every frame after the handshake is covered by the tag of its run (the frames written in
 *   one event-loop turn), and no frame of a run is decoded before its tag has checked (frame-mac.ts); a
 *   tag that fails is bad input. Handshake frames are never tagged.
 * - `send` copies the frame before it returns (the caller may reuse its bytes: FrameCodec.encodeTransient).
 *   A turn's frames are copied into one slab of outSlabBytes and reach the socket as one chunk at the end
 *   of the turn (a write per frame was a large part of a leader's CPU per commit, profiled); besides what
 *   its socket queues, a connection holds at most one slab.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Step } from './handshake.js';
import type { AcceptorHandshake, DialerHandshake } from './handshake.js';
import type { FrameCodec } from './framing.js';
import { FrameReader } from './framing.js';
import { RunChecker, RunSealer, frameTagBytes } from './frame-mac.js';
import type { AdmittedFrame, WireFrame } from './protocol.js';
import { frameToWire, parseFrame } from './protocol.js';
import { tcpHandshakeFrameBytesMax } from '../../limits.js';
import { assert } from '../../runtime/assert.js';

/** Bytes of a slab that a turn's outgoing frames are copied into; a larger frame is copied on its own. */
const outSlabBytes = 16 * 1024;
const noSlab = new Uint8Array(0);

/**
 * Why a connection ended, for counters and log levels: the peer could not be reached (no TCP
 * connection), the handshake failed (TLS or ours), bad input after admission, or an ordinary close.
 */
export type CloseKind = 'unreachable' | 'handshake' | 'badInput' | 'ended';

export interface Counters {
  bytesSent: number;
  bytesReceived: number;
  framesSent: number;
  framesReceived: number;
}

export interface ConnectionOwner {
  readonly codec: FrameCodec;
  readonly counters: Counters;
  readonly frameBytesMax: number;
  readonly outgoingBytesMax: number;
  readonly connectTimeoutMs: number;
  /** The handshake admitted the peer. Returning a reason refuses it after all (e.g. shutting down). */
  admitted(connection: Connection, peer: string): string | undefined;
  /**
   * A frame arrived after the handshake: an actor message (a peer's connection to us), a request (a
   * client's connection to our client port) or a response (our connection to a node's client port).
   * False: not one this connection carries; it is closed as bad input.
   */
  received(connection: Connection, frame: AdmittedFrame): boolean;
  /** The connection is gone; called exactly once. `peer` is set when it had been admitted. */
  closed(connection: Connection, reason: string, kind: CloseKind, peer: string | undefined): void;
}

export class Connection {
  private readonly reader = new FrameReader(tcpHandshakeFrameBytesMax);
  private handshake: DialerHandshake | AcceptorHandshake | undefined;
  /** Once admitted without TLS: tags what this end writes and checks what it reads (under TLS, TLS protects the frames). */
  private sealer: RunSealer | undefined;
  private checker: RunChecker | undefined;
  private peerId: string | undefined;
  /** The largest frame the admitted peer said it accepts (0 before admission). */
  private peerFrameBytes = 0;
  /** Frames sent before admission, held until then. */
  private held: Uint8Array[] = [];
  private heldBytes = 0;
  private corked = false;
  /** Outgoing bytes: [chunkStart, slabEnd) of `slab` are not handed to the socket yet (see write). */
  private slab = noSlab;
  private slabEnd = 0;
  private chunkStart = 0;
  /** [hashFrom, slabEnd) of `slab`: frames of the open run whose bytes its tag has not taken yet. */
  private hashFrom = 0;
  /** The `written` callbacks of the frames in that open chunk, in order. */
  private chunkWritten: ((error?: Error | null) => void)[] = [];
  private closedReason: string | undefined;
  private readonly timer: ReturnType<typeof setTimeout>;

  constructor(
    private readonly socket: Socket | TLSSocket,
    private readonly owner: ConnectionOwner,
    /** A text naming the remote end for log lines (`node b at 127.0.0.1:4001`, `127.0.0.1:53211`). */
    readonly remote: string,
    /** False while a dial's TCP connect is under way (see markConnected). */
    private connected: boolean,
    /** What is left of connectTimeoutMs for connecting, TLS and the handshake together. */
    timeoutMs: number,
  ) {
    this.timer = setTimeout(() => this.close(`${this.connected ? 'no completed handshake' : 'no TCP connection'} within connectTimeoutMs (${owner.connectTimeoutMs} ms)`, this.failureKind()), Math.max(0, timeoutMs));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      const truncated = this.reader.endReason();
      this.close(truncated ?? 'the peer closed the connection', truncated === undefined ? this.failureKind() : this.badInputKind());
    });
    socket.on('error', (error: NodeJS.ErrnoException) => this.close(`socket error: ${error.code ?? error.message}`, this.failureKind()));
    socket.on('close', () => this.close('the connection closed', this.failureKind()));
  }

  /** The dial's TCP connection is up: failures from now on are handshake failures, not unreachability. */
  markConnected(): void {
    this.connected = true;
  }

  get peer(): string | undefined {
    return this.peerId;
  }

  /** The frameBytesMax the peer stated in its handshake: it accepts no larger frame. */
  get peerFrameBytesMax(): number {
    return this.peerFrameBytes;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Bytes waiting to leave: held before admission, copied for the end of this turn, or in the socket's write buffer. */
  get queuedBytes(): number {
    return this.heldBytes + (this.peerId === undefined ? 0 : this.slabEnd - this.chunkStart + this.socket.writableLength);
  }

  /** Starts the dialer's side once the socket (and TLS) is up. */
  startDialer(handshake: DialerHandshake): void {
    this.handshake = handshake;
    this.apply(handshake.start());
  }

  /** Starts the acceptor's side: waits for the dialer's hello. */
  startAcceptor(handshake: AcceptorHandshake): void {
    this.handshake = handshake;
  }

  /**
   * Queues one encoded frame. False (and nothing queued) when the connection is closed or its
   * outgoing bytes would pass `outgoingBytesMax`. `written` (admitted connections only) is called once
   * the frame has left this process for the kernel, or failed with the connection: the client port
   * counts answer bytes waiting in memory by it (src/client/answer-budget.ts).
   */
  send(frame: Uint8Array, written?: (error?: Error | null) => void): boolean {
    if (this.closed || this.queuedBytes + frame.byteLength > this.owner.outgoingBytesMax) return false;
    if (this.peerId === undefined) {
      assert(written === undefined, 'Connection.send: a write callback before admission');
      this.held.push(frame.slice()); // the caller may reuse its bytes
      this.heldBytes += frame.byteLength;
      return true;
    }
    this.write(frame, written);
    return true;
  }

  /** Stops reading frames from the peer (TCP pushes back on it) until resumeReading. */
  pauseReading(): void {
    if (!this.closed) this.socket.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.socket.resume();
  }

  /**
   * Closes once. `tell`: a refusal to send first (the socket is ended after it, not cut), so that the
   * peer can log why.
   */
  close(reason: string, kind: CloseKind, tell?: WireFrame): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    clearTimeout(this.timer);
    this.held = [];
    this.heldBytes = 0;
    if (tell !== undefined && !this.socket.destroyed) {
      this.writeFrame(tell);
      this.endRun();
      this.handOff();
      this.socket.end();
      // A peer that never closes its side does not keep the socket: it is cut after the grace.
      setTimeout(() => this.socket.destroy(), this.owner.connectTimeoutMs).unref();
    } else {
      this.handOff(); // so that their callbacks hear of the failure, as the socket's other writes do
      this.socket.destroy();
    }
    this.owner.closed(this, reason, kind, this.peerId);
  }

  private onData(chunk: Buffer): void {
    this.owner.counters.bytesReceived += chunk.byteLength;
    this.reader.add(chunk);
    // One frame at a time: the handshake's last frame changes how the next one is read (bound, tag).
    for (let result = this.reader.next(); result !== undefined && !this.closed; result = this.reader.next()) {
      if (!result.ok) return this.close(result.reason, this.badInputKind());
      if ('tag' in result) {
        // The reader takes a zero length for a tag record only once a checker is set (apply).
        const run = this.checker!.end(result.tag);
        if (!run.ok) return this.close(run.reason, 'badInput');
        for (const payload of run.payloads) {
          if (this.closed) return;
          this.onPayload(payload);
        }
        continue;
      }
      this.owner.counters.framesReceived++;
      const refused = this.checker?.add(result.frame, result.payload);
      if (refused !== undefined) return this.close(refused, 'badInput');
      if (this.checker === undefined) this.onPayload(result.payload);
    }
  }

  private onPayload(payload: Uint8Array): void {
    const decoded = this.owner.codec.decode(payload);
    if (!decoded.ok) return this.close(decoded.reason, this.badInputKind());
    const frame = parseFrame(decoded.value);
    if (frame.type === 'rejected') return this.close(`bad frame: ${frame.reason}`, this.badInputKind());
    this.onFrame(frame);
  }

  private onFrame(frame: WireFrame): void {
    if (this.peerId === undefined) {
      if (this.handshake === undefined) return this.close(`${frame.type} frame before the connection was ready`, 'handshake');
      return this.apply(this.handshake.step(frame));
    }
    // After the handshake: only what the owner says this connection carries.
    const admitted = frame.type === 'msg' || frame.type === 'request' || frame.type === 'response';
    if (admitted && this.owner.received(this, frame)) return;
    this.close(`unexpected ${frame.type} frame after the handshake`, 'badInput');
  }

  private apply(step: Step): void {
    const outcome = step.outcome;
    if (outcome?.ok === false) {
      return this.close(`handshake failed: ${outcome.reason}`, 'handshake', step.send.find((frame) => frame.type === 'refuse'));
    }
    if (outcome !== undefined) this.peerFrameBytes = outcome.frameBytesMax; // the owner reads it when told
    // The owner may still refuse (it is closing); it is asked before the welcome leaves.
    const veto = outcome === undefined ? undefined : this.owner.admitted(this, outcome.peer);
    if (veto !== undefined) return this.close(veto, 'ended', { type: 'refuse', reason: veto });
    for (const frame of step.send) this.writeFrame(frame);
    if (outcome === undefined) return;
    this.peerId = outcome.peer;
    if (outcome.session !== undefined) {
      this.sealer = new RunSealer(outcome.session.send);
      this.checker = new RunChecker(outcome.session.receive);
      this.reader.tagBytes = frameTagBytes;
    }
    clearTimeout(this.timer);
    this.reader.frameBytesMax = this.owner.frameBytesMax;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const frame of held) this.write(frame);
  }

  private failureKind(): CloseKind {
    return !this.connected ? 'unreachable' : this.peerId === undefined ? 'handshake' : 'ended';
  }

  private badInputKind(): CloseKind {
    return this.peerId === undefined ? 'handshake' : 'badInput';
  }

  private writeFrame(frame: WireFrame): void {
    const encoded = this.owner.codec.encode(frameToWire(frame), tcpHandshakeFrameBytesMax);
    if (encoded.ok) this.write(encoded.payload);
  }

  /**
   * Copies `frame` for the end of this turn, when the turn's bytes go to the socket as one chunk (under a
   * cork, so that a frame too large for the slab leaves in the same syscall); without TLS the turn's
   * frames are one run, its tag record written last.
   */
  private write(frame: Uint8Array, written?: (error?: Error | null) => void): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corked = false;
        this.endRun();
        this.handOff();
        this.socket.uncork();
      });
    }
    const sealer = this.sealer;
    if (sealer?.full(frame.byteLength) === true) this.endRun(); // the frame would take the open run past its bounds
    sealer?.count(frame.byteLength);
    this.copy(frame, written, sealer !== undefined);
    this.owner.counters.bytesSent += frame.byteLength;
    this.owner.counters.framesSent++;
  }

  /** Writes the open run's tag record, if a run is open and the socket still takes bytes. */
  private endRun(): void {
    if (this.sealer?.open !== true) return;
    this.hashPending();
    const record = this.sealer.end()!;
    if (this.socket.writable) {
      this.copy(record, undefined, false);
      this.owner.counters.bytesSent += record.byteLength;
    }
  }

  /** The open run's frames copied since the last call go to its tag, in one piece. */
  private hashPending(): void {
    if (this.slabEnd === this.hashFrom) return;
    this.sealer!.hash(this.slab.subarray(this.hashFrom, this.slabEnd));
    this.hashFrom = this.slabEnd;
  }

  /**
   * Appends `bytes` (`sealed`: a frame of the open run) to the open chunk; a frame larger than half a slab
   * goes to the socket as its own copy.
   */
  private copy(bytes: Uint8Array, written: ((error?: Error | null) => void) | undefined, sealed: boolean): void {
    const size = bytes.byteLength;
    if (size > this.slab.byteLength - this.slabEnd) {
      this.hashPending();
      this.handOff();
      if (size > outSlabBytes / 2) {
        if (sealed) this.sealer!.hash(bytes);
        if (written === undefined) this.socket.write(bytes.slice());
        else this.socket.write(bytes.slice(), written);
        return;
      }
      // Bytes handed to the socket stay there until written: a new slab rather than reuse.
      this.slab = new Uint8Array(outSlabBytes);
      this.slabEnd = 0;
      this.chunkStart = 0;
      this.hashFrom = 0;
    }
    this.slab.set(bytes, this.slabEnd);
    this.slabEnd += size;
    if (!sealed) this.hashFrom = this.slabEnd;
    if (written !== undefined) this.chunkWritten.push(written);
  }

  /** Hands the open chunk to the socket; its frames' callbacks are called, in order, once it is written (or failed). */
  private handOff(): void {
    if (this.slabEnd === this.chunkStart) return;
    const chunk = this.slab.subarray(this.chunkStart, this.slabEnd);
    this.chunkStart = this.slabEnd;
    const callbacks = this.chunkWritten;
    if (callbacks.length === 0) {
      this.socket.write(chunk);
      return;
    }
    this.chunkWritten = [];
    this.socket.write(chunk, callbacks.length === 1 ? callbacks[0] : (error?: Error | null) => {
      for (const written of callbacks) written(error);
    });
  }
}
