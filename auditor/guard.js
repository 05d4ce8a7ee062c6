// Installed in the page's own world before any page script runs: what the page's scripts must not do to
// the visit (block it on a dialog, open popups), and the one thing only this world can see, the page's
// short timers. Everything the audit measures is observed in its own world (observe.js), out of the page's reach.
(() => {
  // Dialogs would block the page until answered; a page that loops on them would stall the visit.
  // Answer them at once, as a visitor dismissing them would.
  try {
    window.alert = () => undefined;
    window.confirm = () => false;
    window.prompt = () => null;
    // Popups are never audited, and one opened on load would send a request to wherever it points.
    window.open = () => null;
  } catch (e) {}
  if (window !== window.top || window.__croObserved) return;
  const seen = (window.__croObserved = { timers: () => [0, 1e9] });
  // Short timers: templates reveal content from them just after load. Counting the ones still pending lets
  // the auditor wait for exactly those (up to a bound) instead of pausing a fixed time on every page; how
  // long ago the last one ran tells it whether what that timer set going has had time to show up.
  try {
    const pending = new Set();
    let lastRan = -1e9;
    const setT = window.setTimeout;
    const clearT = window.clearTimeout;
    const round = Math.round, now = performance.now.bind(performance);  // as they are before the page's scripts
    window.setTimeout = function (handler, delay, ...args) {
      const ms = delay === undefined ? 0 : Number(delay);
      if (typeof handler !== "function" || !(ms <= 1000)) return setT.call(this, handler, delay, ...args);
      let id;
      id = setT.call(this, function (...a) {
        pending.delete(id);
        try { return handler.apply(this, a); } finally { lastRan = now(); }
      }, delay, ...args);
      pending.add(id);
      return id;
    };
    window.clearTimeout = function (id) { pending.delete(id); return clearT.call(this, id); };
    seen.timers = () => [pending.size, round(now() - lastRan)];
  } catch (e) {}
})();
