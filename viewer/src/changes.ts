// Following the change log live: GET /api/changes/stream (server-sent
// events). The session is a same-origin cookie, so the browser's
// EventSource carries it and resumes with Last-Event-ID after a dropped
// connection by itself. When the stream is refused outright (EventSource
// then stops for good), the log is polled instead: GET /api/changes?since=
// every 2 s from the last seq seen (or the server's newest).

import * as api from './api';

/** One row of the change log as the server lists it (no personal field). */
export interface Change {
  seq: number;
  time: string;
  layer: string;
  /** Absent for a bulk change (an import): every record of the layer may have changed. */
  id?: number | null;
  op: string;
  region?: string | null;
  actor?: string;
}

export interface Follow {
  /** Layers wanted (`people`, `households`, …); others are dropped. */
  layers: string[];
  onChange: (c: Change) => void;
}

/** How often the fallback asks for changes. */
const POLL_MS = 2000;

/** Follows the change log until the returned function is called. */
export function followChanges(f: Follow): () => void {
  let last: number | null = null;
  let stopped = false;
  let timer: number | undefined;
  let source: EventSource | null = null;

  const deliver = (c: Change) => {
    last = Math.max(last ?? 0, c.seq);
    if (!stopped && f.layers.includes(c.layer)) f.onChange(c);
  };

  const poll = async () => {
    if (stopped) return;
    // Catching up from the start of the log: what it holds is not news.
    let quiet = false;
    try {
      if (last === null) {
        // Where the log is now: changes before it are not news either.
        const ready = await fetch('/health/ready', { headers: { Accept: 'application/json' } })
          .then((r) => r.json())
          .catch(() => null);
        const applied = Number(ready?.changes?.applied);
        quiet = !Number.isFinite(applied);
        last = quiet ? 0 : applied;
      }
      for (;;) {
        const page = await api.getJsonOf<{ next: number; changes: Change[] }>(`/api/changes?since=${last}&limit=1000`);
        if (!quiet) page.changes.forEach(deliver);
        const moved = page.next > (last ?? 0);
        last = Math.max(last ?? 0, page.next);
        if (!moved || page.changes.length === 0 || stopped) break;
      }
    } catch {
      /* the next tick tries again */
    }
    if (!stopped) timer = window.setTimeout(() => void poll(), POLL_MS);
  };

  if (typeof EventSource === 'function') {
    source = new EventSource('/api/changes/stream');
    source.onmessage = (e: MessageEvent<string>) => {
      try {
        deliver(JSON.parse(e.data) as Change);
      } catch {
        /* not a change: ignored */
      }
    };
    source.onerror = () => {
      // CONNECTING: the browser reconnects itself (with Last-Event-ID).
      // CLOSED: the stream was refused; poll instead.
      if (source?.readyState === EventSource.CLOSED && !stopped) {
        source = null;
        void poll();
      }
    };
  } else {
    void poll();
  }

  return () => {
    stopped = true;
    source?.close();
    source = null;
    window.clearTimeout(timer);
  };
}
