/**
 * Example actor that fails on purpose: it throws when created with `throwInCreate`, or when it receives
 * `boom`. It shows (and the tests check) that a failing actor is reported with its name and error and
 * that its node then stops cleanly on every host.
 */
import { defineActor } from '../../runtime/actor.js';

export interface Boom {
  readonly type: 'boom';
  readonly reason: string;
}
export interface FaultyParams {
  readonly throwInCreate?: boolean;
}

export const faulty = defineActor<Boom, FaultyParams | undefined>({
  kind: 'examples/faulty',
  module: import.meta.url,
  create(_ctx, params) {
    if (params?.throwInCreate) throw new Error('faulty: refused to be created');
    return {
      receive(message) {
        throw new Error(`faulty: ${message.reason}`);
      },
    };
  },
});
