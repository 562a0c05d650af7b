/**
 * The node's events, raised to the application's listeners (nanoevents). Those raised while the node
 * opens (peers connecting, the first leader) wait until just after openNode has resolved and the
 * caller's code after its `await` ran, so that listeners attached right after it hear them, in order.
 */
import { createNanoEvents } from 'nanoevents';
import type { Unsubscribe } from 'nanoevents';
import type { NodeEvents } from './node-info.js';

export class NodeEventHub {
  private readonly emitter = createNanoEvents<NodeEvents>();
  /** Events raised while the node opens; undefined once they have been delivered. */
  private opening: (() => void)[] | undefined = [];

  on<E extends keyof NodeEvents>(event: E, listener: NodeEvents[E]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  emit<E extends keyof NodeEvents>(event: E, ...args: Parameters<NodeEvents[E]>): void {
    if (this.opening === undefined) this.emitter.emit(event, ...args);
    else this.opening.push(() => this.emitter.emit(event, ...args));
  }

  /** The node has opened: deliver what was raised meanwhile, after the caller's continuation. */
  opened(): void {
    setImmediate(() => {
      const queued = this.opening ?? [];
      this.opening = undefined;
      for (const raise of queued) raise();
    });
  }
}
