/**
 * `modeMask.debugOutput`: one debug log record per cluster message a node sends or receives, naming its
 * type and both ends, never its contents (change-sets may hold anything). It wraps the node's side of
 * the network, so every transport gets it alike.
 */
import type { Address, LogRecord, Message, SendResult } from '../runtime/actor.js';
import { APP, formatAddress } from '../runtime/actor.js';
import type { NodeHost } from '../runtime/host.js';

type Outbound = (from: Address, to: Address, message: Message) => SendResult;

function record(node: string, msg: string, from: Address, to: Address, message: Message): LogRecord {
  return { level: 'debug', timeMs: Date.now(), node, actor: APP, msg, fields: { from: formatAddress(from), to: formatAddress(to), type: message.type } };
}

/** The node's outbound, logging each message sent. */
export function loggingSends(node: string, outbound: Outbound, log: (record: LogRecord) => void): Outbound {
  return (from, to, message) => {
    log(record(node, 'cluster message sent', from, to, message));
    return outbound(from, to, message);
  };
}

/** The host as the network sees it, logging each message delivered from a peer. */
export function loggingDeliveries(host: NodeHost, log: (record: LogRecord) => void): NodeHost {
  return {
    node: host.node,
    get state() {
      return host.state;
    },
    send: (to, message) => host.send(to, message),
    deliver: (from, to, message) => {
      log(record(host.node, 'cluster message received', from, to, message));
      return host.deliver(from, to, message);
    },
    on: (event, listener) => host.on(event, listener),
    stats: () => host.stats(),
    stop: () => host.stop(),
  };
}
