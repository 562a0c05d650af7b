/**
 * Runs one node on any of the three hosts behind one small interface, so that a test can state what a
 * user observes once and check it holds on every host.
 */
import type { Address, LogRecord, Message, NodeSpec, SendResult } from '../../src/runtime/actor.js';
import type { FailureReason } from '../../src/runtime/errors.js';
import type { HostOptions, NodeHost } from '../../src/runtime/host.js';
import { startInlineNode } from '../../src/runtime/inline-host.js';
import { startThreadNode } from '../../src/runtime/thread/thread-host.js';
import { Simulation } from '../../simulate/simulation.js';

export type HostKind = 'inline' | 'thread' | 'sim';
export const hostKinds: readonly HostKind[] = ['inline', 'thread', 'sim'];

export interface Observed {
  readonly message: Message;
  readonly from: Address;
}

export interface TestNode {
  send<T extends Message>(to: Address, message: T): SendResult;
  /** Waits for the next application message satisfying `match` (real or virtual time). */
  next(match: (message: Message) => boolean, timeoutMs?: number): Promise<Observed>;
  stop(): Promise<void>;
  readonly failures: { readonly actor: Address; readonly error: FailureReason }[];
  readonly logs: LogRecord[];
  readonly host: NodeHost | undefined;
}

export async function startTestNode(kind: HostKind, spec: NodeSpec, options: HostOptions & { seed?: number } = {}): Promise<TestNode> {
  const logs: LogRecord[] = [];
  const inbox: Observed[] = [];
  const failures: { actor: Address; error: FailureReason }[] = [];
  const take = (match: (message: Message) => boolean): Observed | undefined => {
    const at = inbox.findIndex((o) => match(o.message));
    return at < 0 ? undefined : inbox.splice(at, 1)[0];
  };
  if (kind === 'sim') {
    const sim = new Simulation({ seed: options.seed ?? 1, mailboxMessagesMax: options.mailboxMessagesMax ?? 4096, log: (r) => logs.push(r) });
    sim.on('appMessage', (message, from) => inbox.push({ message, from }));
    sim.on('actorFailed', (actor, error) => failures.push({ actor, error }));
    sim.addNode(spec);
    return {
      send: (to, message) => sim.send(to, message),
      async next(match, timeoutMs = 60_000) {
        let found: Observed | undefined;
        sim.runUntil(() => (found = take(match)) !== undefined, timeoutMs);
        if (found === undefined) throw new Error(`sim: no matching message within ${timeoutMs} virtual ms`);
        return found;
      },
      async stop() {
        sim.crash(spec.node);
      },
      failures, logs, host: undefined,
    };
  }
  const start = kind === 'inline' ? startInlineNode : startThreadNode;
  const host = await start(spec, { ...options, log: (r) => logs.push(r) });
  let wake: (() => void) | undefined;
  host.on('appMessage', (message, from) => {
    inbox.push({ message, from });
    wake?.();
  });
  host.on('actorFailed', (actor, error) => failures.push({ actor, error }));
  return {
    send: (to, message) => host.send(to, message),
    async next(match, timeoutMs = 20_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const found = take(match);
        if (found !== undefined) return found;
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`${kind}: no matching message within ${timeoutMs} ms (${match.toString()}); failures: ${JSON.stringify(failures)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    },
    stop: () => host.stop(),
    failures, logs, host,
  };
}

export const ofType = (type: string) => Object.assign((message: Message) => message.type === type, { toString: () => `type ${type}` });
