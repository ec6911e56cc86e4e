//! PostGIS end to end: `wangge copy` moves a partitioned city from a
//! GeoPackage into PostGIS and back into a new GeoPackage losing nothing,
//! and `wangge serve --database` answers as the GeoPackage server does.
//! Needs PostgreSQL with PostGIS at `DATABASE_URL` (default: the local
//! test server); each test uses its own schema. No server: the test fails.

use serde_json::Value;
use wangge::store::{self, Dump};

use crate::common::{user_with_token_in, wangge, Server};

fn base_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A URL to a schema of its own (created by the store on first open).
pub fn fresh_url(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let base = base_url();
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema=e2e_{tag}_{}_{nanos}", std::process::id())
}

/// Everything a store holds, less the audit lines of the copies themselves.
fn dump(spec: &str) -> Dump {
    let s = store::open(spec).unwrap_or_else(|e| {
        panic!("opening {spec} (PostGIS tests need DATABASE_URL or the local server): {e}")
    });
    let mut d = store::dump(&*s).unwrap();
    d.audit.retain(|e| e.action != "copy");
    d
}

fn run(args: &[&str]) -> String {
    let (ok, out, err) = wangge(args);
    assert!(ok, "wangge {args:?}: {out}{err}");
    out
}

#[test]
fn copy_gpkg_to_postgis_and_back_loses_nothing_and_both_servers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.gpkg");
    let a = a.to_str().unwrap();
    run(&[
        "generate",
        "--households",
        "3000",
        "--seed",
        "7",
        "--out",
        a,
    ]);
    // Two plan versions per region, atoms, users, a token, audit lines.
    run(&["partition", "--store", a, "--format", "json"]);
    run(&["partition", "--store", a, "--seed", "2", "--format", "json"]);
    let token = user_with_token_in(a, "pg-admin", "admin", "*");
    user_with_token_in(a, "pg-office", "office", "610902");

    let url = fresh_url("copy");
    let out = run(&["copy", "--from", a, "--to", &url, "--quiet"]);
    assert!(out.contains("plan versions"), "{out}");
    let b = dir.path().join("b.gpkg");
    let b = b.to_str().unwrap();
    run(&["copy", "--from", &url, "--to", b, "--quiet"]);

    let (da, dp, db) = (dump(a), dump(&url), dump(b));
    assert!(da.data.plans.len() >= 2 && !da.data.atoms.is_empty());
    assert!(da.data.plans.iter().any(|p| p.version.number == 2));
    assert_eq!(da.users.len(), 2);
    assert_eq!(da.tokens.len(), 2);
    assert!(da.audit.len() >= 4, "{:?}", da.audit);
    for (layer, x, y) in [
        ("regions", da.data.regions.len(), dp.data.regions.len()),
        (
            "households",
            da.data.households.len(),
            dp.data.households.len(),
        ),
        ("atoms", da.data.atoms.len(), dp.data.atoms.len()),
    ] {
        assert_eq!(x, y, "{layer}");
    }
    assert!(da == dp, "the PostGIS copy differs from the GeoPackage");
    assert!(
        da == db,
        "the GeoPackage copied back differs from the first"
    );
    // The copies are audited in their targets.
    let copies = store::dump(&*store::open(b).unwrap()).unwrap().audit;
    assert_eq!(copies.iter().filter(|e| e.action == "copy").count(), 2);

    // `info` reads the database; a second copy into it is refused.
    let info = run(&["info", "--store", &url]);
    assert!(
        info.contains("postgis") && info.contains("households"),
        "{info}"
    );
    let (ok, _, err) = wangge(&["copy", "--from", a, "--to", &url]);
    assert!(!ok && err.contains("not empty"), "{err}");
    let (ok, _, err) = wangge(&["copy", "--from", &url, "--to", b]);
    assert!(!ok && err.contains("exists"), "{err}");

    // The same answers from both servers, with the copied admin token.
    let gp = Server::start_with(&["--store", a], token.clone());
    let pg = Server::start_with(&["--database", &url], token);
    let (s1, r1, _) = gp.get_json("/api/regions");
    let (s2, r2, _) = pg.get_json("/api/regions");
    assert_eq!((s1, s2), (200, 200), "{r1} {r2}");
    assert_eq!(r1, r2);
    let plan = da.data.plans.last().unwrap().version.id;
    for path in [
        format!("/api/plans/{plan}"),
        format!("/api/plans/{plan}/grids"),
        format!("/api/plans/{plan}/grids?level=3"),
    ] {
        let (s1, v1, _) = gp.get_json(&path);
        let (s2, v2, _) = pg.get_json(&path);
        assert_eq!((s1, s2), (200, 200), "{path}");
        assert!(v1 != Value::Null);
        assert_eq!(v1, v2, "{path}");
    }
    let (s, v, _) = pg.get_json("/api/version");
    assert_eq!(s, 200);
    assert!(v.to_string().contains("postgis"), "{v}");
}

#[test]
fn migrate_then_serve_a_new_database_and_bad_urls_fail_clearly() {
    let url = fresh_url("migr");
    let out = run(&["migrate", "--database", &url]);
    assert!(
        out.contains("layers and plans") && out.contains("accounts"),
        "{out}"
    );
    // Twice is fine: nothing left to apply.
    run(&["migrate", "--database", &url]);
    let token = user_with_token_in(&url, "admin", "admin", "*");
    let server = Server::start_with(&["--database", &url], token);
    let (s, v, _) = server.get_json("/api/regions");
    assert_eq!(s, 200, "{v}");

    let (ok, _, err) = wangge(&[
        "serve",
        "--database",
        "postgres://postgres:sekrit@127.0.0.1:1/nowhere",
    ]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("127.0.0.1:1") && err.contains("cannot connect") && !err.contains("sekrit"),
        "{err}"
    );
    let (ok, _, err) = wangge(&["migrate", "--database", "mysql://x"]);
    assert!(!ok && err.contains("postgres://"), "{err}");
    let (ok, _, err) = wangge(&["serve", "--database", "not a url"]);
    assert!(!ok && err.contains("postgres://"), "{err}");
    let (ok, _, err) = wangge(&[
        "copy",
        "--from",
        "postgres://postgres@127.0.0.1:1/x",
        "--to",
        "/tmp/never.gpkg",
    ]);
    assert!(!ok && err.contains("cannot connect"), "{err}");
    assert!(!std::path::Path::new("/tmp/never.gpkg").exists());
}
