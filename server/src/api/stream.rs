//! `GET /api/changes/stream`: the change log as server-sent events, the
//! same changes `GET /api/changes` lists, cut to the caller's scope the
//! same way (no personal field).
//!
//! Each event is one change (`id:` its seq, `data:` the change as JSON).
//! A client that reconnects sends `Last-Event-ID` (browsers do) or
//! `?since=SEQ` and gets what it missed first; without either it hears
//! only what changes from now on. A change is sent once the snapshot
//! holds it (the stream waits on [`crate::snapshot::follow::Follow`]), so
//! a client that reads after an event sees the change; a write through
//! this server reaches the stream as soon as its snapshot swap is done,
//! one made elsewhere as soon as the poller has reloaded it.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use tokio::sync::watch;

use super::{ApiError, AppState, CallerOf};
use crate::access::Caller;
use crate::store::Store;

/// Changes read from the store per step.
const BATCH: usize = 500;

/// A comment line this often keeps proxies (and the server's own idle
/// timeout, 60 s by default) from closing a quiet stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Where a stream picks up: `Last-Event-ID`, else `?since=`, else now.
/// A seq past what the snapshot holds (a log from another store) starts
/// from now too.
fn resume_point(
    headers: &HeaderMap,
    q: &HashMap<String, String>,
    now: i64,
) -> Result<i64, ApiError> {
    let given = match headers.get("last-event-id") {
        Some(v) => Some((
            "Last-Event-ID",
            v.to_str().unwrap_or("?").trim().to_string(),
        )),
        None => q.get("since").map(|s| ("since", s.clone())),
    };
    let Some((name, v)) = given else {
        return Ok(now);
    };
    let seq = v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "{name} {v:?}: a change seq (a whole number, 0 or more)"
        ))
    })?;
    Ok(seq.min(now))
}

/// `GET /api/changes/stream`: see the module doc.
pub async fn stream(
    State(st): State<AppState>,
    CallerOf(caller): CallerOf,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let applied = st.follow.subscribe();
    let since = resume_point(&headers, &q, *applied.borrow())?;
    let tail = Tail {
        store: st.store.clone(),
        caller,
        applied,
        next: since,
        ready: VecDeque::new(),
    };
    let events = stream::unfold(tail, |mut t| async move {
        let e = t.next_event().await?;
        Some((Ok::<_, Infallible>(e), t))
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// One subscriber's place in the log.
struct Tail {
    store: Arc<dyn Store>,
    caller: Caller,
    applied: watch::Receiver<i64>,
    /// The last seq read (sent, or out of the caller's scope).
    next: i64,
    ready: VecDeque<Event>,
}

impl Tail {
    /// The next event for the caller; `None` ends the stream (the server
    /// is going away, or the store failed: the client reconnects with
    /// `Last-Event-ID` and loses nothing).
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Some(e);
            }
            let upto = *self.applied.borrow_and_update();
            if self.next < upto {
                self.read(upto).await?;
            } else {
                self.applied.changed().await.ok()?;
            }
        }
    }

    /// Reads changes after `next` up to `upto` (at most [`BATCH`]).
    async fn read(&mut self, upto: i64) -> Option<()> {
        let (store, since) = (self.store.clone(), self.next);
        let rows = tokio::task::spawn_blocking(move || store.changes_since(since, BATCH))
            .await
            .ok()?;
        let rows = match rows {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, since, "change stream: the store failed; closed");
                return None;
            }
        };
        if rows.is_empty() {
            // The snapshot holds a seq the log does not (it was replaced):
            // nothing more to send from here.
            self.next = upto;
        }
        for c in rows.into_iter().filter(|c| c.seq <= upto) {
            self.next = c.seq;
            if !super::ledger::visible(&c, &self.caller) {
                continue;
            }
            let e = Event::default().id(c.seq.to_string()).json_data(&c).ok()?;
            self.ready.push_back(e);
        }
        Some(())
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn last_event_id_wins_over_since_and_neither_means_now() {
        let mut h = HeaderMap::new();
        let q: HashMap<String, String> = [("since".to_string(), "3".to_string())].into();
        assert_eq!(resume_point(&h, &HashMap::new(), 9).unwrap(), 9);
        assert_eq!(resume_point(&h, &q, 9).unwrap(), 3);
        h.insert("last-event-id", HeaderValue::from_static("5"));
        assert_eq!(resume_point(&h, &q, 9).unwrap(), 5);
        assert_eq!(resume_point(&h, &q, 4).unwrap(), 4, "not past now");
        h.insert("last-event-id", HeaderValue::from_static("x"));
        assert!(matches!(
            resume_point(&h, &q, 9),
            Err(ApiError::BadRequest(d)) if d.contains("Last-Event-ID")
        ));
    }
}
