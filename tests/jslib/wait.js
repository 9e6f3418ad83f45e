// Shared by the interop (tests/interop) and browser (tests/e2e) tests.
'use strict';

/** Polls fn() until it returns a truthy value or the deadline passes. */
async function waitFor(what, fn, timeoutMs = 30000, stepMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) {
      const why = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${why})`);
    }
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

module.exports = { waitFor };
