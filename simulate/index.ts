/**
 * chorusdb/simulate: whole clusters in one thread on virtual time, everything drawn from one seed.
 */
export type { SimEvents, SimOptions, SimStats } from './simulation.js';
export { Simulation, simEpochMs } from './simulation.js';
export type { RngState } from './rng.js';
export { Rng } from './rng.js';
export type { LinkFaults, NetworkStats } from './network.js';
export { SimNetwork, calmNetwork } from './network.js';
export { EventQueue } from './event-queue.js';
export type { Scheduled } from './event-queue.js';
export { TraceHash, stableText } from './trace.js';
export { SimDisk } from './sim-disk.js';
export type { SimDiskOptions } from './sim-disk.js';
export * from './history.js';
export * from './checkers/index.js';
export type { Fault, FaultKind, NodeLifecycle, TimedFault } from './faults.js';
export { faultKinds, parseFaultKinds, scheduleFaults, swarmFaults } from './faults.js';
export type { NodeGap, RoleChange, TimelineFault } from './timeline.js';
export { RunTimeline, describeFault } from './timeline.js';
export type { ReportInput } from './report.js';
export { renderReport } from './report.js';
