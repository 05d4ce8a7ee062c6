// Installed before any page script runs. Records Largest Contentful Paint and Cumulative Layout Shift,
// which the browser only reports to observers. CLS follows the Core Web Vitals definition: the largest
// burst of shifts (gaps under 1 s, bursts capped at 5 s).
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
  // Speculation rules (and the older rel=prerender) have the browser fetch, even render, the pages they
  // name, other sites' included, outside the crawl's scope guard: the browser does it, not the page. They
  // are taken out as the parser or a script inserts them, before the browser acts on them.
  try {
    const speculative = (n) => (n.nodeName === "SCRIPT" && String(n.type).trim().toLowerCase() === "speculationrules")
      || (n.nodeName === "LINK" && /(^|\s)prerender(\s|$)/i.test(n.rel || ""));
    new MutationObserver((records) => {
      for (const r of records) for (const n of r.addedNodes) if (speculative(n)) n.remove();
    }).observe(document, { childList: true, subtree: true });
  } catch (e) {}
  if (window !== window.top || window.__croObserved) return;
  const seen = (window.__croObserved = { lcp: null, cls: null, timers: () => [0, 1e9] });
  // Short timers: templates reveal content from them just after load. Counting the ones still pending lets
  // the auditor wait for exactly those (up to a bound) instead of pausing a fixed time on every page; how
  // long ago the last one ran tells it whether what that timer set going has had time to show up.
  try {
    const pending = new Set();
    let lastRan = -1e9;
    const setT = window.setTimeout;
    const clearT = window.clearTimeout;
    window.setTimeout = function (handler, delay, ...args) {
      const ms = delay === undefined ? 0 : Number(delay);
      if (typeof handler !== "function" || !(ms <= 1000)) return setT.call(this, handler, delay, ...args);
      let id;
      id = setT.call(this, function (...a) {
        pending.delete(id);
        try { return handler.apply(this, a); } finally { lastRan = performance.now(); }
      }, delay, ...args);
      pending.add(id);
      return id;
    };
    window.clearTimeout = function (id) { pending.delete(id); return clearT.call(this, id); };
    seen.timers = () => [pending.size, Math.round(performance.now() - lastRan)];
  } catch (e) {}
  try { performance.setResourceTimingBufferSize(10000); } catch (e) {}
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) seen.lcp = e.renderTime || e.loadTime || e.startTime;
    }).observe({ type: "largest-contentful-paint", buffered: true });
  } catch (e) {}
  try {
    let burst = 0, first = 0, last = 0;
    seen.cls = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        // hadRecentInput is not consulted: the auditor never types or clicks, and mobile emulation flags
        // the first ~500 ms of shifts as if it had.
        if (burst && e.startTime - last < 1000 && e.startTime - first < 5000) {
          burst += e.value;
        } else {
          burst = e.value;
          first = e.startTime;
        }
        last = e.startTime;
        seen.cls = Math.max(seen.cls, burst);
      }
    }).observe({ type: "layout-shift", buffered: true });
  } catch (e) { seen.cls = null; }
})();
