/**
 * `nwType: 'tcp'`: the node's side of a cluster over TCP (or TLS) between processes. Checks the `tcp`
 * parameters at open (errors name the key) and opens the TcpNetwork that stands where the shared
 * InProcessNetwork stands with `nwType: 'local'`.
 */
import { invalidArgument } from '../runtime/errors.js';
import type { ClusterNetwork } from '../transport/network.js';

/** The TCP parameters of `openNode` (filled in with the TCP wiring). */
export type TcpNodeParams = Readonly<Record<string, unknown>>;

export interface ResolvedTcp {
  readonly params: TcpNodeParams;
}

/** A network this node opened itself, and must close when it stops. */
export interface OwnedNetwork {
  readonly network: ClusterNetwork;
  close(): Promise<void>;
}

export function resolveTcp(_tcp: unknown, _self: string, _voters: readonly { readonly id: string }[]): ResolvedTcp {
  throw invalidArgument('openNode', "nwType 'tcp' is not available yet; use 'local'");
}

export function openTcpNetwork(_tcp: ResolvedTcp): Promise<OwnedNetwork> {
  throw invalidArgument('openNode', "nwType 'tcp' is not available yet; use 'local'");
}
