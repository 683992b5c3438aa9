/* The handheld page's service worker: the page and its assets come from the network when it is
 * there and from the cache when it is not, so /m also reloads offline. API calls are never cached
 * (the page queues actions itself). */
const CACHE = "hazchain-m-v1";
const ASSETS = ["/m", "/m/static/app.js", "/m/static/app.css"];

self.addEventListener("install", (ev) => {
  ev.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (ev) => {
  ev.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (ev) => {
  const url = new URL(ev.request.url);
  if (ev.request.method !== "GET" || !ASSETS.includes(url.pathname)) return;
  ev.respondWith(
    fetch(ev.request)
      .then((r) => {
        const copy = r.clone();
        caches.open(CACHE).then((c) => c.put(url.pathname, copy));
        return r;
      })
      .catch(() => caches.match(url.pathname)),
  );
});
