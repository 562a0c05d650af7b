/**
 * The admin port stays reachable while connections are held open against it: one address holds at
 * most adminConnectionsPerAddressMax (the rest are closed at once), and a connection that sends no
 * request, or drips its headers, is closed within a few seconds. Before, 64 such connections (the
 * port's whole bound) locked /status and /metrics out for ~30 s at a time (Node checks its timeouts
 * every 30 s by default).
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startAdminServer } from '../../src/admin/server.js';
import type { AdminServer } from '../../src/admin/server.js';
import type { NodeInfo } from '../../src/node/cluster-node.js';
import { adminConnectionsPerAddressMax } from '../../src/limits.js';

let admin: AdminServer | undefined;
const held: net.Socket[] = [];
afterEach(async () => {
  for (const socket of held.splice(0)) socket.destroy();
  await admin?.close();
  admin = undefined;
});

async function start(): Promise<AdminServer> {
  admin = await startAdminServer('127.0.0.1:0', { info: () => ({ state: 'running' }) as unknown as NodeInfo, counters: () => ({ leaderChanges: 0, clientWrites: {} }) as never, about: () => ({}) });
  return admin;
}

/** Opens a connection from `localAddress` and holds it, sending `first` if given; resolves once it is open or was closed. */
function hold(port: number, localAddress: string, first?: string): Promise<{ readonly socket: net.Socket; readonly closed: Promise<void> }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress });
  held.push(socket);
  socket.on('error', () => {});
  socket.on('data', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return new Promise((resolve) => {
    socket.once('connect', () => {
      if (first !== undefined) socket.write(first);
      // The server closes one past the per-address bound as soon as it accepts it: wait a moment for that.
      setImmediate(() => resolve({ socket, closed }));
    });
    socket.once('close', () => resolve({ socket, closed }));
  });
}

const status = (port: number) => fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status, (e: Error) => `failed: ${e.name}`);

describe('admin port', () => {
  it('answers /status while another address holds 64 idle connections: that address keeps at most its share', async () => {
    const { port } = (await start()).address;
    const connections = await Promise.all(Array.from({ length: 64 }, () => hold(port, '127.0.0.2')));
    // Past the bound they are closed as soon as accepted (seen here a turn or two later).
    const closed = await Promise.all(connections.map((c) => Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 500))])));
    expect(closed.filter((isClosed) => !isClosed).length).toBe(adminConnectionsPerAddressMax);
    expect(await status(port)).toBe(200);
  });

  it('closes a connection that sends no request, and one that drips its headers, within seconds', { timeout: 15_000 }, async () => {
    const { port } = (await start()).address;
    const idle = await hold(port, '127.0.0.1');
    const slow = await hold(port, '127.0.0.1', 'GET /status HTTP/1.1\r\n');
    const drip = setInterval(() => slow.socket.write('X-A: b\r\n'), 300);
    // Node's default check every 30 s kept them past this test's 15 s budget.
    await Promise.all([idle.closed, slow.closed]);
    clearInterval(drip);
    expect(await status(port)).toBe(200);
  });
});
