/**
 * fast-check's seed for the property suites. CI runs with a fixed seed so that a submission's result
 * does not depend on the draw; set FC_SEED to replay or to explore (any integer), or run locally
 * without CI set for a fresh random seed each run. A failure always prints the seed and path that
 * replay it.
 */
import fc from 'fast-check';

const fromEnv = process.env['FC_SEED'];
const seed = fromEnv !== undefined ? Number(fromEnv) : process.env['CI'] ? 20261121 : undefined;
if (seed !== undefined) {
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got ${JSON.stringify(fromEnv)}`);
  fc.configureGlobal({ seed });
}
