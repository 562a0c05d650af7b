/**
 * The wire between simulated nodes, on the seeds that draw it: every message one node sends another is
 * encoded as the TCP transport encodes it (src/transport/tcp: a `msg` envelope, protocol version first,
 * written by FrameCodec's msgpack encoder), decoded as it decodes a frame, narrowed by the frame guard
 * (parseFrame) and by the node's allow-list of peer messages (src/node/peer-messages.ts), and the decoded
 * copy is what the receiver gets. Without it the nodes share message objects, so what the codec changes
 * (an undefined field left out, a bigint, a byte array that becomes a view) and what the guards refuse
 * never shows in a run.
 *
 * A message the TCP transport would not deliver (not encodable, past frameBytesMax, refused by a guard)
 * is a programmer error here: `carry` throws, so the sending actor fails and the run names the message.
 *
 * Invariant: the receiver never holds an object the sender holds (every copy is decoded on its own).
 */
import type { Address, Message } from '../src/runtime/actor.js';
import { assert } from '../src/runtime/assert.js';
import { tcpFrameBytesMaxDefault } from '../src/limits.js';
import { FRAME_HEADER_BYTES, FrameCodec } from '../src/transport/tcp/framing.js';
import { frameToWire, parseFrame } from '../src/transport/tcp/protocol.js';
import type { Envelope } from '../src/transport/tcp/protocol.js';
import { peerMessageProblem } from '../src/node/peer-messages.js';

export class SimWire {
  private readonly codec = new FrameCodec(tcpFrameBytesMaxDefault);
  private framesCarried = 0;
  private bytesCarried = 0;

  /** Frames and bytes (length prefixes included) that crossed this wire. */
  stats(): { readonly frames: number; readonly bytes: number } {
    return { frames: this.framesCarried, bytes: this.bytesCarried };
  }

  /** What the receiver of `message` gets: the message as a TCP peer would read it. */
  carry(from: Address, to: Address, message: Message): Message {
    const what = () => `simulated wire: ${JSON.stringify(message.type)} from ${from.node}/${from.actor} to ${to.node}/${to.actor}`;
    const encoded = this.codec.encode(frameToWire({ type: 'msg', from: from.actor, to: to.actor, body: message } satisfies Envelope), tcpFrameBytesMaxDefault);
    if (!encoded.ok) assert(false, `${what()} cannot be sent: ${encoded.reason}`);
    this.framesCarried++;
    this.bytesCarried += encoded.payload.byteLength;
    const decoded = this.codec.decode(encoded.payload.subarray(FRAME_HEADER_BYTES));
    if (!decoded.ok) assert(false, `${what()} does not decode: ${decoded.reason}`);
    const frame = parseFrame(decoded.value);
    if (frame.type !== 'msg') assert(false, `${what()} is refused by the frame guard: ${frame.type === 'rejected' ? frame.reason : frame.type}`);
    const refused = peerMessageProblem(frame, from.node, to.node);
    if (refused !== undefined) assert(false, `${what()} is refused by the peer-message guard: ${refused}`);
    return frame.body;
  }
}
