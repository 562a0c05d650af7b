/**
 * `chorusdb/client`: use a chorusdb cluster from a process that embeds no node. Connect to a node's
 * client port (`client.listen` in its configuration), then `write`, `read` and `info`; see
 * docs/client.md for the operations and their answers.
 */
export { ClientError, connect } from './client.js';
export type { Client, ClientOptions } from './client.js';
export type {
  ErrorValue, HashResult, InfoResult, ReadOp, ReadRequest, ReadResult, Request, Row, ScanBounds, WriteOp, WriteRequest, WriteResult,
} from './protocol.js';
export type { SslParams } from '../transport/tcp/config.js';
