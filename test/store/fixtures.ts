/** Shared schemas for the store tests. */
import type { SchemaDef } from '../../src/store/schema.js';

export const accounts: SchemaDef = {
  tables: [
    {
      name: 'accounts',
      fields: [
        { name: 'id', type: 'int32' },
        { name: 'email', type: 'string' },
        { name: 'balance', type: 'int64', default: 0n },
        { name: 'city', type: 'string', optional: true },
        { name: 'tags', type: 'string[]', optional: true },
      ],
      primaryKey: ['id'],
      indexes: [
        { name: 'byEmail', fields: ['email'], unique: true },
        { name: 'byCity', fields: ['city'] },
      ],
    },
    {
      name: 'events',
      fields: [
        { name: 'account', type: 'int32' },
        { name: 'seq', type: 'uint32' },
        { name: 'at', type: 'timestamp' },
        { name: 'payload', type: 'bytes', optional: true },
        { name: 'ok', type: 'bool', default: true },
        { name: 'score', type: 'float64', default: 0 },
      ],
      primaryKey: ['account', 'seq'],
    },
  ],
};
