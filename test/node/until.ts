/** Polls `ok` every 10 ms, `tries` times at most; throws naming `what` if it never held. */
export async function until(what: string, ok: () => boolean, tries = 1000): Promise<void> {
  for (let i = 0; i < tries && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!ok()) throw new Error(`timed out waiting until ${what}`);
}
