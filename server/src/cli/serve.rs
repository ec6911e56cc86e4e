//! `wangge serve`: the HTTP server over a store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::access::{Caller, Role};
use crate::api::{self, AppState};
use crate::snapshot::Snapshot;
use crate::store::postgis;

/// Arguments of `wangge serve`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["store", "database"])))]
pub struct Args {
    /// The GeoPackage file (created when missing).
    #[arg(long, env = "WANGGE_STORE")]
    pub store: Option<PathBuf>,
    /// A PostGIS database instead of a file:
    /// `postgres://user[:password]@host[:port]/db[?schema=NAME]`; pending
    /// migrations are applied at start.
    #[arg(long, env = "WANGGE_DATABASE", conflicts_with = "store")]
    pub database: Option<String>,
    /// Address to listen on; port 0 picks a free one (printed at start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The built viewer (`viewer/dist`), served at `/`.
    #[arg(long, default_value = "viewer/dist")]
    pub viewer: PathBuf,
    /// Serve a public map: anonymous callers get the `viewer` role (figures
    /// and the map, no personal field) over these region-code prefixes
    /// (`*` for all). Off by default: anonymous callers then reach only
    /// health, version and login.
    #[arg(long, value_name = "PREFIXES")]
    pub public_map: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (needs --tls-key);
    /// session cookies then carry `Secure`.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Policy preset or TOML file for coverage analysis.
    #[arg(long, default_value = "ankang")]
    pub policy: String,
    /// The PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Failed authentications are written as one audit line per address,
    /// and reads of personal data as one per caller and route, per this
    /// many seconds.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub audit_window_secs: u64,
    /// Archive audit lines older than this many days into
    /// --audit-archive-dir and prune them, at start and then daily.
    #[arg(long, requires = "audit_archive_dir", value_parser = clap::value_parser!(u64).range(1..))]
    pub audit_retention_days: Option<u64>,
    /// Where the automatic audit archives go (hash-chained JSON lines,
    /// one file per run; see `wangge audit archive`).
    #[arg(long, requires = "audit_retention_days")]
    pub audit_archive_dir: Option<PathBuf>,
    /// Threads for CPU-heavy requests (emergency areas and plans, coverage,
    /// plan previews); default: one fewer than the cores, at least 1.
    #[arg(long, value_name = "N")]
    pub heavy_threads: Option<usize>,
    /// Heavy requests that may wait per route class; more get 503 at once.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub heavy_queue: usize,
    /// Seconds a heavy request may take, waiting included; then it is
    /// stopped and answered 503 with Retry-After.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds)]
    pub heavy_deadline: std::time::Duration,
    /// Seconds a client has to send a request's headers (and a TLS
    /// handshake) once it started; then the connection is closed.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub header_timeout: std::time::Duration,
    /// Seconds a keep-alive connection may sit idle between requests.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    pub idle_timeout: std::time::Duration,
    /// Open connections per client address; newer ones are closed at once.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_connections_per_address: usize,
    /// Open connections in all; default: the open-file limit less 256 kept
    /// for the store and logs.
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Milliseconds between looks at the change log for writes made
    /// elsewhere (a `wangge import` into the served store), which are then
    /// picked up without a restart; 0: never look.
    #[arg(long, value_name = "MS", default_value_t = 250)]
    pub changes_poll_ms: u64,
}

/// A duration in seconds (fractions allowed), more than zero.
fn seconds(s: &str) -> Result<std::time::Duration, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0 && *x < 1e9)
        .map(std::time::Duration::from_secs_f64)
        .ok_or_else(|| format!("{s:?} is not a positive number of seconds"))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let _log = super::init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(args))
}

#[allow(
    clippy::too_many_lines,
    reason = "start-up in the order the log tells it (store, snapshot, audit, pools, router, listener, TLS, shutdown)"
)]
async fn serve(args: Args) -> anyhow::Result<()> {
    let (spec, shown) = match (&args.database, &args.store) {
        (Some(url), _) => {
            anyhow::ensure!(
                postgis::is_url(url),
                "--database must be a postgres:// URL, not {url:?}"
            );
            (url.clone(), postgis::redact(url))
        }
        (None, Some(path)) => {
            let p = path.to_string_lossy().into_owned();
            (p.clone(), p)
        }
        (None, None) => anyhow::bail!("--store FILE.gpkg or --database URL is required"),
    };
    let shown2 = shown.clone();
    let (store, snapshot, applied) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let t = std::time::Instant::now();
        let store = crate::store::open(&spec).with_context(|| format!("opening store {shown2}"))?;
        // Read before the load: a write landing during it is picked up
        // again rather than missed.
        let applied = store.last_seq().context("reading the change log")?;
        // With the grid shapes kept of the plans in force: grid tiles are
        // ready without evaluating a plan.
        let snapshot = Snapshot::from_store(&*store).context("loading the store")?;
        tracing::info!(
            store = %shown2,
            kind = store.kind(),
            regions = snapshot.regions.len(),
            households = snapshot.households.len(),
            people = snapshot.people.len(),
            ms = t.elapsed().as_millis() as u64,
            "snapshot built"
        );
        Ok((store, snapshot, applied))
    })
    .await??;
    let anonymous = args.public_map.as_deref().map(|p| {
        let prefixes: Vec<String> = p
            .split(',')
            .map(|s| s.trim().trim_end_matches('*').to_string())
            .collect();
        tracing::warn!(
            scope = p,
            "public map: anonymous callers see figures and the map (viewer role)"
        );
        Caller::of_user("-", Role::Viewer, &prefixes)
    });
    let (audit_sink, audit_thread) = crate::access::audit::writer(
        store.clone(),
        std::time::Duration::from_secs(args.audit_window_secs),
        std::time::Duration::from_secs(10),
    );
    if let (Some(days), Some(dir)) = (args.audit_retention_days, args.audit_archive_dir.clone()) {
        super::audit::archive_daily(store.clone(), days, dir);
    }
    let policy = Arc::new(super::load_policy(&args.policy)?);
    let heavy = {
        let mut c = api::heavy::Config {
            queue: args.heavy_queue,
            deadline: args.heavy_deadline,
            ..api::heavy::Config::default()
        };
        if let Some(n) = args.heavy_threads {
            c.threads = n.max(1);
        }
        tracing::info!(
            threads = c.threads,
            queue = c.queue,
            deadline_ms = c.deadline.as_millis() as u64,
            "heavy pool"
        );
        api::heavy::HeavyPool::new(&c)
    };
    let state = AppState {
        audit_sink: Some(audit_sink),
        anonymous,
        secure_cookies: args.tls_cert.is_some(),
        follow: Arc::new(crate::snapshot::follow::Follow::new(applied)),
        ..AppState::new(store.clone(), snapshot, policy, heavy)
    };
    if args.changes_poll_ms > 0 {
        let every = std::time::Duration::from_millis(args.changes_poll_ms);
        api::pickup::start(&state, every).context("starting the change log poller")?;
    }
    let tiles = state.tiles.clone();
    {
        // Plan grids ready before the first map asks for them: stored
        // shapes, or (versions saved before shapes were kept) evaluated.
        let snapshot = state.snapshot.load();
        let (store, policy) = (state.store.clone(), state.policy.clone());
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            tiles.warm_grids(&snapshot);
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                evaluated = snapshot.evaluations(),
                "tiles: grids of every region ready"
            );
            match fill_plan_shapes(&*store, &snapshot, &policy) {
                Ok(0) => {}
                Ok(n) => tracing::info!(versions = n, "plan grid shapes kept for older versions"),
                Err(e) => tracing::warn!(error = %e, "plan grid shapes not filled in"),
            }
        });
    }
    let app = api::router(state, Some(&args.viewer));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            // ring: pure Rust and C, no cmake, the smallest rustls provider.
            let _ = rustls::crypto::ring::default_provider().install_default();
            // Read by axum-server's loader (PEM chain and key, ALPN h2 and
            // http/1.1); served by our own loop below.
            let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                .await
                .with_context(|| {
                    format!(
                        "reading TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )
                })?;
            Some(tokio_rustls::TlsAcceptor::from(config.get_inner()))
        }
        _ => None,
    };
    let bounds = super::connections::Bounds {
        header_timeout: args.header_timeout,
        idle_timeout: args.idle_timeout,
        per_address: args.max_connections_per_address.max(1),
        total: args
            .max_connections
            .unwrap_or_else(|| super::connections::default_total(256))
            .max(1),
    };
    tracing::info!(
        %addr,
        tls = tls.is_some(),
        header_timeout_ms = bounds.header_timeout.as_millis() as u64,
        idle_timeout_ms = bounds.idle_timeout.as_millis() as u64,
        per_address = bounds.per_address,
        total = bounds.total,
        "listening"
    );
    // A fixed line on stdout so scripts and tests learn the port.
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("wangge listening on {scheme}://{addr}");
    super::connections::serve(listener, app, tls, bounds, shutdown_signal()).await;
    // The router (and with it every audit sender) is gone: flush the rest.
    let _ = tokio::task::spawn_blocking(move || audit_thread.join()).await;
    tracing::info!("shut down");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown requested");
}

/// Keeps the grid shapes of each region's newest and newest published
/// plan version where the store has none (files from before shapes were
/// kept, or saved when evaluating failed), so the current and published
/// plan layers are whole. Only those versions are evaluated (the newest
/// ones the tiles just did); every other version is read from its stored
/// shapes. Returns how many.
fn fill_plan_shapes(
    store: &dyn crate::store::Store,
    s: &Snapshot,
    policy: &crate::domain::Policy,
) -> crate::store::Result<usize> {
    let mut missing: std::collections::HashSet<i64> =
        store.versions_without_shapes()?.into_iter().collect();
    if missing.is_empty() {
        return Ok(0);
    }
    let mut filled = 0;
    for region in s.plans.keys() {
        let versions = store.plan_versions(*region)?;
        let newest = versions.last().map(|v| v.id);
        let published = versions.iter().rev().find(|v| v.published).map(|v| v.id);
        for id in [newest, published].into_iter().flatten() {
            if !missing.remove(&id) {
                continue;
            }
            let Some(plan) = store.plan(id)? else {
                continue;
            };
            match s.evaluated(policy, &plan) {
                Ok(p) => {
                    store.put_plan_grid_shapes(id, &crate::store::PlanGridShape::of(&p))?;
                    filled += 1;
                }
                Err(e) => {
                    tracing::warn!(plan = id, error = %e, "plan not evaluated: no grid shapes");
                }
            }
        }
    }
    Ok(filled)
}
