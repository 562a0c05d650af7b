/**
 * The checkers run over a finished history (simulate/history.ts). Each is a pure function of its input
 * and answers with a result value; a malformed input is the caller's mistake and throws
 * INVALID_ARGUMENT naming the checker. See docs/checkers.md for each rule and its bound.
 */
export type { LinearizableFailure, LinearizableOk, LinearizableOptions, LinearizableResult, LinearizableUnknown } from './linearizable.js';
export { checkLinearizable, linearizableCacheBytesMax, linearizableExplainOpsMax, linearizableStatesPerKeyMax } from './linearizable.js';
export type { BankAnomaly, BankOptions, BankResult, TransferRow, TransferRowAnomaly, TransferRowsResult } from './bank.js';
export { checkBank, checkTransferRows } from './bank.js';
export type { DigestPoint } from './state-digests.js';
export { StateDigests, digestCheckpoint, simStateDigestConflictsReportedMax, simStateDigestDenseIndexes, storeDigest } from './state-digests.js';
export type { ListAppendAnomaly, ListAppendResult } from './list-append.js';
export { checkListAppend } from './list-append.js';
export type { FinalValue, LostWrite, LostWritesOptions, LostWritesResult } from './lost-writes.js';
export { checkLostWrites } from './lost-writes.js';
export type { ListElement, RegisterValue } from './internal/ops.js';
export { checkerAnomaliesReportedMax, describeOp } from './internal/ops.js';
