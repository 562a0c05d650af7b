/**
 * The TCP/TLS transport between node processes: the public entry point. The machinery lives beside it
 * (framing, protocol, handshake, tls, connection, link, network); see docs/transport.md.
 */
export { TcpNetwork } from './network.js';
export type { LinkDirection, PeerStats, TcpNetworkEvents, TcpNetworkStats } from './network.js';
export type { Endpoint, SslParams, TcpNetworkConfig } from './config.js';
export type { LinkState } from './link.js';
export { TransportListenError } from './errors.js';
export { PROTOCOL_VERSION } from './protocol.js';
