/**
 * The store's public API (re-exported from chorusdb's entry point). Internals stay in their files.
 */
export type { FieldDef, IndexDef, SchemaDef, TableDef } from './schema.js';
export { Schema } from './schema.js';
export type { FieldType, Row, Scalar, ScalarType, Value } from './values.js';
export type { ReadTx, ScanOptions } from './read-tx.js';
export type { WriteTx } from './write-tx.js';
export type { ChangeSet, RangeRef, ReadRef, WriteRef } from './changeset.js';
export { toChangeSet } from './changeset.js';
export type { ApplyResult, SnapshotOptions, StoreOptions } from './store.js';
export { Store } from './store.js';
export type { DurableEvents, DurableStoreOptions, LogTruncatedEvent, SnapshotCorruptEvent } from './durable.js';
export { DurableStore } from './durable.js';
export type { Schedule, SyncPolicy } from './txlog.js';
export type { ConflictReason } from './errors.js';
export {
  ConflictError, CorruptError, EvolutionModeError, IncompatibleSchemaError, NotFoundError, SchemaError, StoreError, UniqueError, ValidationError,
} from './errors.js';
export type { Disk, DiskFile } from '../disk/disk.js';
export { NodeDisk } from '../disk/node-disk.js';
