/**
 * DetachControl, the node's side of detach/attach, in the race the simulator's helper found by reading:
 * a detach that timed out (and was called off: the replicator was asked to attach again) must not turn
 * the node standalone when the replicator's `detached` was already on its way; writes made then would
 * stay on this node only.
 */
import { describe, expect, it } from 'vitest';
import { DetachControl } from '../../src/node/detached.js';
import type { MembershipDone } from '../../src/actors/replicator-messages.js';

const report = (state: MembershipDone['state'], reason?: string): MembershipDone => ({ type: 'membership', state, applied: 0, ...(reason === undefined ? {} : { reason }) });

describe('DetachControl', () => {
  it('goes standalone when the replicator confirms a detach in time', async () => {
    const control = new DetachControl('n1', false, 1_000);
    const done = control.begin('detached', () => undefined);
    control.reached(report('detached'), undefined);
    await done;
    expect(control.detached).toBe(true);
  });

  it('does not go standalone on a detached report that lands after the detach was called off', async () => {
    const control = new DetachControl('n1', false, 10);
    let attachAsked = false;
    await expect(control.begin('detached', () => (attachAsked = true))).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(attachAsked).toBe(true);
    control.reached(report('detached'), undefined); // was already on its way
    expect(control.detached).toBe(false); // writes keep going to the cluster
    expect(control.state).toBe('attaching');
    control.reached(report('attached'), undefined);
    expect(control.state).toBe('attached');
    // A later detach goes standalone as usual.
    const again = control.begin('detached', () => undefined);
    control.reached(report('detached'), undefined);
    await again;
    expect(control.detached).toBe(true);
  });

  it('rejects a detach the leader refused with NO_QUORUM and its reason at once, and stays in the cluster', async () => {
    const control = new DetachControl('n1', false, 60_000);
    const done = control.begin('detached', () => undefined);
    control.reached(report('refused', 'the members left would be no quorum'), undefined);
    await expect(done).rejects.toMatchObject({ code: 'NO_QUORUM', message: expect.stringContaining('the members left would be no quorum') });
    expect(control.state).toBe('attached');
    const again = control.begin('detached', () => undefined); // may be asked again
    control.reached(report('detached'), undefined);
    await again;
    expect(control.detached).toBe(true);
  });
});
