//! `wangge serve`: the HTTP server over a store.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use crate::access::{Caller, Role};
use crate::api::{self, AppState};
use crate::snapshot::{Snapshot, SnapshotCell};
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
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let _log = super::init_tracing();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(serve(args))
}

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
    let (store, snapshot) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let t = std::time::Instant::now();
        let store = crate::store::open(&spec).with_context(|| format!("opening store {shown2}"))?;
        let data = store.load().context("loading the store")?;
        let snapshot = Snapshot::build(data);
        tracing::info!(
            store = %shown2,
            kind = store.kind(),
            regions = snapshot.regions.len(),
            households = snapshot.households.len(),
            people = snapshot.people.len(),
            ms = t.elapsed().as_millis() as u64,
            "snapshot built"
        );
        Ok((store, snapshot))
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
    let tiles = Arc::new(crate::tiles::TileCache::new(policy.clone()));
    let state = AppState {
        tiles: tiles.clone(),
        policy,
        audit_sink: Some(audit_sink),
        plans: Arc::default(),
        auth_cache: Arc::default(),
        store: store.clone(),
        accounts: store.clone(),
        snapshot: Arc::new(SnapshotCell::new(snapshot)),
        logins: Arc::default(),
        anonymous,
        secure_cookies: args.tls_cert.is_some(),
    };
    {
        // Plan grids evaluated before the first map asks for them.
        let snapshot = state.snapshot.load();
        std::thread::spawn(move || {
            let started = std::time::Instant::now();
            tiles.warm_grids(&snapshot);
            tracing::info!(
                ms = started.elapsed().as_millis() as u64,
                "tiles: grids of every region ready"
            );
        });
    }
    let app = api::router(state, Some(&args.viewer));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        // ring: pure Rust and C, no cmake, the smallest rustls provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
            .await
            .with_context(|| {
                format!(
                    "reading TLS certificate {} and key {}",
                    cert.display(),
                    key.display()
                )
            })?;
        tracing::info!(%addr, "listening (TLS)");
        println!("wangge listening on https://{addr}");
        let handle = axum_server::Handle::new();
        let h = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
        });
        axum_server::from_tcp_rustls(listener.into_std()?, config)?
            .handle(handle)
            .serve(service)
            .await?;
    } else {
        tracing::info!(%addr, "listening");
        // A fixed line on stdout so scripts and tests learn the port.
        println!("wangge listening on http://{addr}");
        // Answers are small and whole: send them at once, not after Nagle's wait.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, service)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
    }
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
