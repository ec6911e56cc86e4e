//! The server's own accept loop: what `axum::serve` cannot bound.
//!
//! - A per-address cap and a global cap (below the open-file limit): a
//!   connection over either is closed as soon as it is accepted (the newest
//!   go), with a warning at most once a minute per address.
//! - A header timeout: a client has that long from opening a connection
//!   (or from the first byte of a later request) to finish the request's
//!   headers, the TLS handshake included; then the connection is closed.
//! - An idle timeout: a keep-alive connection with nothing in flight is
//!   closed after that long.
//!
//! Plain HTTP/1.1, and HTTPS (rustls, HTTP/2 by ALPN) in the same loop.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// The bounds of `wangge serve`'s connections.
#[derive(Debug, Clone)]
pub struct Bounds {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub per_address: usize,
    pub total: usize,
}

/// The global cap by default: the open-file limit less `reserve` kept for
/// the store, logs and the listener, at least 64.
pub fn default_total(reserve: u64) -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) } == 0 {
        lim.rlim_cur
    } else {
        1024
    };
    soft.saturating_sub(reserve).clamp(64, 1 << 20) as usize
}

/// Open connections per address and in all.
struct Caps {
    bounds: Bounds,
    open: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicUsize,
    warned: Mutex<HashMap<IpAddr, Instant>>,
}

/// One admitted connection; its drop frees the place.
struct Slot {
    caps: Arc<Caps>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self
            .caps
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.ip);
            }
        }
        self.caps.total.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Caps {
    /// A place for a new connection from `ip`, or `None` (over a cap).
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = open.entry(ip).or_insert(0);
        let over_address = *n >= self.bounds.per_address;
        let over_total = self.total.load(Ordering::Relaxed) >= self.bounds.total;
        if over_address || over_total {
            if *n == 0 {
                open.remove(&ip);
            }
            drop(open);
            self.warn(ip, over_address);
            return None;
        }
        *n += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Some(Slot {
            caps: self.clone(),
            ip,
        })
    }

    /// A warning line, at most once a minute per address.
    fn warn(&self, ip: IpAddr, over_address: bool) {
        let now = Instant::now();
        let mut warned = self
            .warned
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if warned
            .get(&ip)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(60))
        {
            return;
        }
        if warned.len() > 10_000 {
            warned.retain(|_, t| now.duration_since(*t) < Duration::from_secs(60));
        }
        warned.insert(ip, now);
        drop(warned);
        if over_address {
            tracing::warn!(%ip, cap = self.bounds.per_address, "connection cap per address reached: newer connections are closed (logged once a minute)");
        } else {
            tracing::warn!(%ip, cap = self.bounds.total, "global connection cap reached: newer connections are closed (logged once a minute)");
        }
    }
}

/// What a connection is doing, for its timeouts: shared by the I/O
/// wrapper (bytes in and out) and the service (requests in flight).
struct Activity {
    opened: Instant,
    in_flight: AtomicU32,
    /// Milliseconds since `opened` of the last response or write.
    last: AtomicU64,
    /// 1 + milliseconds since `opened` at which the current request's head
    /// began; 0 when none is being read.
    head_from: AtomicU64,
    /// HTTP/2 sends frames between requests: only the idle rule applies.
    multiplexed: bool,
}

/// What the watchdog does next.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// Headers too slow: close now.
    Close,
    /// Idle too long: close between requests.
    Idle,
    /// Look again after this long.
    Wait(Duration),
}

impl Activity {
    fn new(multiplexed: bool) -> Self {
        Self {
            opened: Instant::now(),
            in_flight: AtomicU32::new(0),
            last: AtomicU64::new(0),
            // The first request's head is due from the moment of opening.
            head_from: AtomicU64::new(u64::from(!multiplexed)),
            multiplexed,
        }
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn read(&self) {
        if !self.multiplexed
            && self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_from.load(Ordering::Relaxed) == 0
        {
            self.head_from.store(self.now_ms() + 1, Ordering::Relaxed);
        }
    }

    fn wrote(&self) {
        self.last.store(self.now_ms(), Ordering::Relaxed);
    }

    fn begin(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.head_from.store(0, Ordering::Relaxed);
    }

    fn end(&self) {
        self.last.store(self.now_ms(), Ordering::Relaxed);
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    fn verdict(&self, b: &Bounds) -> Verdict {
        let now = self.now_ms();
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // The request's own timeout bounds it.
            return Verdict::Wait(b.header_timeout);
        }
        let (due, verdict) = match self.head_from.load(Ordering::Relaxed) {
            0 => (
                self.last.load(Ordering::Relaxed) + b.idle_timeout.as_millis() as u64,
                Verdict::Idle,
            ),
            from => (
                from - 1 + b.header_timeout.as_millis() as u64,
                Verdict::Close,
            ),
        };
        if now >= due {
            verdict
        } else {
            Verdict::Wait(Duration::from_millis(due - now))
        }
    }
}

/// A stream that tells its [`Activity`] about bytes in and out.
struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Counts a request in flight until dropped (the response is built).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, lets connections finish for up to 10 s, and closes the rest.
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    bounds: Bounds,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let caps = Arc::new(Caps {
        bounds,
        open: Mutex::default(),
        total: AtomicUsize::new(0),
        warned: Mutex::default(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    let mut accept_failed_at: Option<Instant> = None;
    loop {
        while tasks.try_join_next().is_some() {}
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // Out of file descriptors, mostly: wait for some to close.
                    if accept_failed_at.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                        tracing::warn!(error = %e, "accept failed; pausing (logged once a minute)");
                        accept_failed_at = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some(slot) = caps.admit(peer.ip()) else {
            // Closed at once: the newest connection over the cap goes.
            drop(tcp);
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, tls, bounds, stop) = (
            app.clone(),
            tls.clone(),
            caps.bounds.clone(),
            stop_rx.clone(),
        );
        tasks.spawn(async move {
            connection(tcp, peer, app, tls, &bounds, stop).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = tasks.len(),
            "connections still open after 10 s: closed"
        );
        tasks.shutdown().await;
    }
}

/// One connection: the TLS handshake (within the header timeout), then
/// HTTP under the watchdog of its timeouts.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    bounds: &Bounds,
    stop: tokio::sync::watch::Receiver<bool>,
) {
    match tls {
        None => http(tcp, false, peer, app, bounds, stop).await,
        Some(acceptor) => {
            let Ok(Ok(stream)) =
                tokio::time::timeout(bounds.header_timeout, acceptor.accept(tcp)).await
            else {
                return;
            };
            let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
            http(stream, h2, peer, app, bounds, stop).await;
        }
    }
}

async fn http<S>(
    stream: S,
    h2: bool,
    peer: SocketAddr,
    app: axum::Router,
    bounds: &Bounds,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::new(h2));
    let io = TokioIo::new(Tracked {
        inner: stream,
        activity: activity.clone(),
    });
    let seen = activity.clone();
    let service =
        hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            seen.begin();
            let guard = InFlight(seen.clone());
            let answer = app.clone().oneshot(req.map(axum::body::Body::new));
            async move {
                let r = answer.await;
                drop(guard);
                r
            }
        });
    if h2 {
        let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .serve_connection(io, service);
        watch(
            conn,
            &activity,
            bounds,
            &mut stop,
            hyper::server::conn::http2::Connection::graceful_shutdown,
        )
        .await;
    } else {
        let conn = hyper::server::conn::http1::Builder::new()
            .keep_alive(true)
            .serve_connection(io, service);
        watch(
            conn,
            &activity,
            bounds,
            &mut stop,
            hyper::server::conn::http1::Connection::graceful_shutdown,
        )
        .await;
    }
}

/// Drives `conn` until it ends, closing it when a timeout passes or the
/// server shuts down (gracefully: a request in flight is finished).
async fn watch<C, E>(
    conn: C,
    activity: &Activity,
    bounds: &Bounds,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    graceful: impl Fn(Pin<&mut C>),
) where
    C: std::future::Future<Output = Result<(), E>>,
{
    tokio::pin!(conn);
    let mut closing = false;
    loop {
        let wait = match activity.verdict(bounds) {
            Verdict::Close => return,
            Verdict::Idle if !closing => {
                graceful(conn.as_mut());
                closing = true;
                bounds.header_timeout
            }
            Verdict::Idle => bounds.header_timeout,
            Verdict::Wait(d) => d,
        };
        tokio::select! {
            _ = conn.as_mut() => return,
            () = tokio::time::sleep(wait) => {}
            r = stop.changed(), if !closing => {
                if r.is_ok() {
                    graceful(conn.as_mut());
                    closing = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds(per_address: usize, total: usize) -> Bounds {
        Bounds {
            header_timeout: Duration::from_millis(100),
            idle_timeout: Duration::from_millis(300),
            per_address,
            total,
        }
    }

    #[test]
    fn caps_per_address_and_in_all() {
        let caps = Arc::new(Caps {
            bounds: bounds(2, 3),
            open: Mutex::default(),
            total: AtomicUsize::new(0),
            warned: Mutex::default(),
        });
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.2".parse().unwrap(), "127.0.0.3".parse().unwrap());
        let s1 = caps.admit(a).unwrap();
        let _s2 = caps.admit(a).unwrap();
        assert!(caps.admit(a).is_none(), "a third from one address");
        let _s3 = caps.admit(b).unwrap();
        assert!(caps.admit(b).is_none(), "over the global cap");
        drop(s1);
        assert!(caps.admit(b).is_some(), "a place freed");
    }

    #[test]
    fn header_then_idle_timeouts() {
        let b = bounds(1, 1);
        let a = Activity::new(false);
        assert!(matches!(a.verdict(&b), Verdict::Wait(d) if d <= b.header_timeout));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(
            a.verdict(&b),
            Verdict::Close,
            "no request head within the header timeout"
        );
        let a = Activity::new(false);
        a.read();
        a.begin();
        std::thread::sleep(Duration::from_millis(120));
        assert!(
            matches!(a.verdict(&b), Verdict::Wait(_)),
            "in flight: no timeout"
        );
        a.end();
        assert!(
            matches!(a.verdict(&b), Verdict::Wait(d) if d > b.header_timeout),
            "idle, not a slow header"
        );
        std::thread::sleep(Duration::from_millis(320));
        assert_eq!(a.verdict(&b), Verdict::Idle);
        let h2 = Activity::new(true);
        h2.read();
        std::thread::sleep(Duration::from_millis(120));
        assert!(
            matches!(h2.verdict(&b), Verdict::Wait(_)),
            "HTTP/2 frames are not a slow header"
        );
    }
}
