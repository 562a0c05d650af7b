/**
 * Structured logs of a node process: pino, one JSON object per line, each naming the node. The actors'
 * and the transport's log records (runtime LogRecord) go through `recordSink`, keeping the actor that
 * wrote them and their fields; the command line's own lines use the logger directly.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import type { LogRecord } from '../runtime/actor.js';

export type { Logger } from 'pino';

export function nodeLogger(node: string, level: 'debug' | 'info' | 'warn' | 'error', destination?: DestinationStream): Logger {
  const options = { level, base: { node }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options, pino.destination({ dest: 1, sync: true })) : pino(options, destination);
}

/**
 * A runtime log sink writing to `logger`: `{ level, time, node, actor, msg, ...fields }`. The node is
 * the logger's own (every record of a node process is of its node).
 */
export function recordSink(logger: Logger): (record: LogRecord) => void {
  return (record) => {
    if (!logger.isLevelEnabled(record.level)) return;
    logger[record.level]({ ...record.fields, actor: record.actor }, record.msg);
  };
}
