/**
 * The node process's admin port (HTTP, read-only): `GET /status` answers the node's `info()` and what
 * the process knows about itself as JSON; `GET /metrics` the same as Prometheus text. Nothing else.
 *
 * Bounded: at most adminConnectionsMax connections, adminConnectionsPerAddressMax from one address,
 * adminHeadersMsMax to send a request's headers, adminRequestMsMax per request, adminKeepAliveMsMax idle
 * between requests, checked every adminCheckIntervalMs; requests carry no body. So connections held open
 * (idle, or dripping headers) are closed within a few seconds, and one host cannot hold them all.
 * Bind it to loopback or a management network: it has no authentication (it reads, never writes).
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { NodeInfo } from '../node/cluster-node.js';
import { parseEndpoint } from '../transport/tcp/config.js';
import { adminCheckIntervalMs, adminConnectionsMax, adminConnectionsPerAddressMax, adminHeadersMsMax, adminKeepAliveMsMax, adminRequestMsMax } from '../limits.js';
import type { ProcessCounters } from './metrics.js';
import { metricsText } from './metrics.js';

export interface AdminSource {
  info(): NodeInfo;
  counters(): ProcessCounters;
  /** What the process adds to /status: its addresses, version, uptime. */
  about(): Readonly<Record<string, unknown>>;
}

export interface AdminServer {
  readonly address: { readonly host: string; readonly port: number };
  close(): Promise<void>;
}

/** The JSON of /status: `about()`, then `info()`, then the process counters. */
export function statusOf(source: AdminSource): Record<string, unknown> {
  return { ...source.about(), ...source.info(), ...source.counters() };
}

function respond(source: AdminSource, request: IncomingMessage, response: ServerResponse): void {
  const path = (request.url ?? '/').split('?')[0];
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET\n');
    return;
  }
  if (path === '/status') {
    response.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify(statusOf(source))}\n`);
  } else if (path === '/metrics') {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(metricsText(source.info(), source.counters()));
  } else {
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /status or /metrics\n');
  }
}

/** Listens on `listen` (`host:port`, port 0 picks one). */
export async function startAdminServer(listen: string, source: AdminSource): Promise<AdminServer> {
  const endpoint = parseEndpoint('admin.listen', listen, true);
  const options = { connectionsCheckingInterval: adminCheckIntervalMs, requestTimeout: adminRequestMsMax, headersTimeout: adminHeadersMsMax, keepAliveTimeout: adminKeepAliveMsMax };
  const server: Server = createServer(options, (request, response) => {
    try {
      respond(source, request, response);
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`${(error as Error).message}\n`);
    }
  });
  server.maxConnections = adminConnectionsMax;
  const perAddress = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const open = perAddress.get(address) ?? 0;
    if (open >= adminConnectionsPerAddressMax) {
      socket.destroy();
      return;
    }
    perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(endpoint.port, endpoint.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as { address: string; port: number };
  return {
    address: { host: bound.address, port: bound.port },
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
