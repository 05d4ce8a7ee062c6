// Installed in the audit's own JavaScript world before any page script runs: the page's scripts can neither
// see nor replace what runs here, though both share the document. Records Largest Contentful Paint and
// Cumulative Layout Shift, which the browser only reports to observers. CLS follows the Core Web Vitals
// definition: the largest burst of shifts (gaps under 1 s, bursts capped at 5 s).
(() => {
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
  const seen = (window.__croObserved = { lcp: null, cls: null });
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
