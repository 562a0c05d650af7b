/**
 * A node opened on a data directory that is not its own: another cluster's, or another node's. It
 * refuses to open (FOREIGN_DATA, naming the directory or journal and what differs) instead of replaying
 * that log and term into a cluster that never had them. Nodes of one cluster may still share one
 * directory, and a journal written before identities is adopted.
 */
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterNode, openNode } from '../../src/node/cluster-node.js';
import { InProcessNetwork } from '../../src/transport/in-process.js';
import type { SchemaDef } from '../../src/store/schema.js';
import { ChorusError } from '../../src/runtime/errors.js';
import { FileJournal } from '../../src/runtime/file-journal.js';
import { checkDataDir } from '../../src/node/data-dir.js';
import { decodeMsgpack, encodeMsgpack } from '../../src/store/codec.js';

const schema: SchemaDef = { tables: [{ name: 'kv', fields: [{ name: 'k', type: 'string' }, { name: 'v', type: 'int32' }], primaryKey: ['k'] }] };
const clusterA = ['n1', 'n2', 'n3'];
const clusterB = ['n1', 'n2', 'n4'];
let open: ClusterNode[] = [];
const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'chorus-datadir-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  await Promise.all(open.map((n) => n.stop({ scope: 'local' }).catch(() => undefined)));
  open = [];
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const get = (node: ClusterNode, k: string) => node.read((tx) => tx.get('kv', k)?.['v']);
const openAll = (addrs: readonly string[], dataDir: string, host: 'inline' | 'thread' = 'inline', network = new InProcessNetwork()) =>
  Promise.all(addrs.map((_, nodeId) => openNode({ nodeId, nodes: addrs.map((addr) => ({ addr })), schema, network, dataDir, host })));

/** Cluster A writes a few rows into `dataDir` (its three journals there) and stops. */
async function clusterAWrote(dataDir: string): Promise<void> {
  open = await openAll(clusterA, dataDir);
  for (let i = 0; i < 5; i++) await open[i % 3]!.write((tx) => void tx.upsert('kv', { k: `A${i}`, v: i }));
  await Promise.all(open.map((n) => n.stop()));
  open = [];
}

/** What opening n1 of cluster B on `dataDir` gives: the node, or the error it was refused with. */
async function openN1OfB(dataDir: string, host: 'inline' | 'thread'): Promise<ChorusError> {
  const opened = await openNode({ nodeId: 0, nodes: clusterB.map((addr) => ({ addr })), schema, network: new InProcessNetwork(), dataDir, host }).then((node) => {
    open.push(node);
    return undefined;
  }, (error: unknown) => error as ChorusError);
  expect(opened, 'n1 of cluster B opened on cluster A\'s data').toBeInstanceOf(ChorusError);
  return opened!;
}

describe('a data directory from another cluster', () => {
  for (const host of ['inline', 'thread'] as const) {
    it(`n1 of cluster B refuses its journal from cluster A (FOREIGN_DATA, naming the journal and both node lists; ${host} host)`, async () => {
      const dirA = freshDir();
      await clusterAWrote(dirA);
      const mine = freshDir(); // only n1's journal, as in a directory of its own
      copyFileSync(join(dirA, 'n1.replicator.journal'), join(mine, 'n1.replicator.journal'));
      const refused = await openN1OfB(mine, host);
      expect(refused.code).toBe('FOREIGN_DATA');
      expect(refused.message).toContain(`the Raft journal ${join(mine, 'n1.replicator.journal')} belongs to another node or cluster`);
      expect(refused.message).toContain('its cluster\'s nodes were ["n1","n2","n3"], this node\'s are ["n1","n2","n4"]');
      // Cluster A's own node still opens on it, with its data.
      open = [await openNode({ nodeId: 0, nodes: clusterA.map((addr) => ({ addr })), schema, network: new InProcessNetwork(), dataDir: mine, host })];
      expect(get(open[0]!, 'A0')).toBe(0);
    });
  }

  it('a directory shared by cluster A\'s nodes is refused to cluster B\'s, naming the node that is not B\'s', async () => {
    const dirA = freshDir();
    await clusterAWrote(dirA);
    const refused = await openN1OfB(dirA, 'inline');
    expect(refused.code).toBe('FOREIGN_DATA');
    expect(refused.message).toMatch(/^dataDir .* holds the journal of node "n3", not among this cluster's nodes \["n1","n2","n4"\]/);
  });

  it('a journal written before identities is adopted: it opens, and from then on is refused to another cluster', async () => {
    const dirA = freshDir();
    await clusterAWrote(dirA);
    let stripped = 0;
    for (const file of readdirSync(dirA).filter((f) => f.endsWith('.replicator.journal'))) {
      const journal = new FileJournal(dirA, file.slice(0, -'.journal'.length));
      const records = journal.recovered.filter((r) => (decodeMsgpack(r) as { n?: unknown }).n === undefined);
      stripped += journal.recovered.length - records.length;
      journal.rewrite(records.map((r) => encodeMsgpack(decodeMsgpack(r))));
      journal.close();
    }
    expect(stripped).toBeGreaterThanOrEqual(3);
    open = await openAll(clusterA, dirA);
    expect(open.map((n) => get(n, 'A4'))).toEqual([4, 4, 4]);
    await Promise.all(open.map((n) => n.stop()));
    open = [];
    const mine = freshDir();
    copyFileSync(join(dirA, 'n1.replicator.journal'), join(mine, 'n1.replicator.journal'));
    expect((await openN1OfB(mine, 'inline')).code).toBe('FOREIGN_DATA');
  });
});

describe('a data directory of another node', () => {
  it('nodes of one cluster may share a directory; a directory of its own (chorus node) refuses another node\'s journal', async () => {
    const dir = freshDir();
    open = await openAll(clusterA.slice(0, 2), dir, 'inline'); // n1 and n2 of a 3-node cluster: a quorum
    await open[0]!.write((tx) => void tx.upsert('kv', { k: 'x', v: 1 }));
    expect(() => checkDataDir(dir, 'n3', clusterA, false)).not.toThrow(); // n3 may join them there
    expect(() => checkDataDir(dir, 'n1', clusterA, true)).toThrow(/holds the journal of node "n2" beside this node's, and this node is "n1": is nodeId right\?/);
    expect(() => checkDataDir(dir, 'n3', clusterA, true)).toThrow(/holds the journal of nodes \["n1","n2"\], and this node is "n3"/);
  });
});
