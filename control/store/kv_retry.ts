/**
 * Retries a KV call that failed with SQLite's `database is locked`, which happens when several
 * processes share one KV file. The call is retried after a short random back-off.
 * @module
 */

const MAX_ATTEMPTS = 200;

export function isLocked(e: unknown): boolean {
  return e instanceof Error && /database is locked|database table is locked/i.test(e.message);
}

export async function retryLocked<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isLocked(e) || attempt >= MAX_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(2 * attempt, 20)));
    }
  }
}
