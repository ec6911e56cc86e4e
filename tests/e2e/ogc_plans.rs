//! The plan collections of the OGC API (issue 24), over real HTTP on both
//! stores: a plan generated over HTTP shows in `plan_grids_current` grid
//! for grid (counts per level, unique ids, `/items/{id}`); an edit moves
//! the collection to the new version while `?version=` still answers the
//! old one; `plan_grids_published` is empty until a version is published,
//! then holds it, and keeps holding it after a later edit; a caller scoped
//! elsewhere sees none of it; unknown versions are 404 problems with
//! their code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use wangge::store::gpkg::GeoPackage;
use wangge::store::Store;

use crate::common::{generated, user_with_token_in, wangge, Server};
use crate::ogc::{feature_count, gdal};

const CURRENT: &str = "/ogc/collections/plan_grids_current";
const PUBLISHED: &str = "/ogc/collections/plan_grids_published";

/// A GET that must answer 200: the body.
fn ok(s: &Server, path: &str, token: &str) -> Value {
    let (status, v, _) = s.get_as(path, Some(token));
    assert_eq!(status, 200, "{path}: {v}");
    v
}

/// Every feature of a collection's items (one page of up to 10,000).
fn features(s: &Server, path: &str, token: &str) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let v = ok(s, &format!("{path}{sep}limit=10000"), token);
    let f = v["features"].as_array().unwrap().clone();
    assert_eq!(v["numberMatched"].as_u64(), Some(f.len() as u64), "{path}");
    f
}

fn post(s: &Server, path: &str, headers: &[(&str, &str)], body: &str) -> (u16, Value) {
    let (status, _, text) = s.post_with(path, Some(&s.token), headers, body, "etag");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Plans every community under `code` with a job over HTTP; the job's
/// plans (`region`, `id`, `levels`).
fn plan_over_http(s: &Server, code: &str) -> Vec<Value> {
    let (status, job) = post(
        s,
        &format!("/api/regions/{code}/plans"),
        &[],
        r#"{"seed":3}"#,
    );
    assert_eq!(status, 202, "{job}");
    let url = job["url"].as_str().unwrap().to_string();
    let started = Instant::now();
    loop {
        let v = ok(s, &url, &s.token);
        if v["status"] != "running" {
            assert_eq!(v["status"], "done", "{v}");
            return v["plans"].as_array().unwrap().clone();
        }
        assert!(started.elapsed() < Duration::from_secs(180), "{v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A version saved over HTTP from `id` (`op` restore, or publish): its id.
fn save(s: &Server, id: i64, publish: bool) -> i64 {
    let (path, body) = if publish {
        (format!("/api/plans/{id}/publish"), "{}".to_string())
    } else {
        (
            format!("/api/plans/{id}/edits"),
            format!(r#"{{"edit":{{"op":"restore","version":{id}}},"message":"ogc"}}"#),
        )
    };
    let (status, v) = post(s, &path, &[("If-Match", &format!("\"plan-{id}\""))], &body);
    assert_eq!(status, 201, "{path}: {v}");
    v["version"]["id"].as_i64().unwrap()
}

/// Grids per level of a plan version, as the plans API counts them.
fn grids_per_level(s: &Server, id: i64) -> [u64; 3] {
    let v = ok(s, &format!("/api/plans/{id}"), &s.token);
    let l = v["levels"].as_array().unwrap();
    [0, 1, 2].map(|i| l[i]["grids"].as_u64().unwrap())
}

/// `(version, number of features)` per version among `features`.
fn by_version(features: &[Value]) -> BTreeMap<i64, usize> {
    let mut m = BTreeMap::new();
    for f in features {
        *m.entry(f["properties"]["version"].as_i64().unwrap())
            .or_default() += 1;
    }
    m
}

fn problem(s: &Server, path: &str, token: &str) -> (u16, String) {
    let (status, v, ctype) = s.get_as(path, Some(token));
    assert_eq!(ctype, "application/problem+json", "{path}: {v}");
    (status, v["code"].as_str().unwrap_or("").to_string())
}

/// A generated city in `dir` (no plan yet): two communities to plan, and
/// a third one.
fn city(dir: &Path) -> (std::path::PathBuf, [String; 2], String) {
    let store = generated(dir, "2500", "3");
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    let parents = wangge::domain::region::parents(&d.regions);
    let inner: BTreeSet<_> = parents.values().copied().collect();
    let leaves: BTreeSet<String> = parents
        .keys()
        .filter(|c| !inner.contains(c))
        .map(ToString::to_string)
        .collect();
    let leaves: Vec<String> = leaves.into_iter().collect();
    assert!(leaves.len() >= 3, "{leaves:?}");
    (
        store,
        [leaves[0].clone(), leaves[1].clone()],
        leaves[2].clone(),
    )
}

/// Tokens of a viewer (everywhere) and of an office scoped to `elsewhere`,
/// in the store `spec`.
fn users(spec: &str, elsewhere: &str) -> [String; 2] {
    [
        user_with_token_in(spec, "ogc-plan-viewer", "viewer", "*"),
        user_with_token_in(spec, "ogc-plan-outsider", "office", elsewhere),
    ]
}

/// The whole story on one server.
fn journey(s: &Server, planned: &[String; 2], [viewer, outsider]: [String; 2]) {
    let admin = s.token.clone();

    // Listed before any plan, empty, without an extent.
    let list = ok(s, "/ogc/collections", &admin);
    let ids: Vec<&str> = list["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"plan_grids_current") && ids.contains(&"plan_grids_published"),
        "{ids:?}"
    );
    assert!(features(s, &format!("{CURRENT}/items"), &admin).is_empty());
    assert!(ok(s, CURRENT, &admin)["extent"].is_null());

    let plans: Vec<Value> = planned.iter().flat_map(|c| plan_over_http(s, c)).collect();
    assert_eq!(plans.len(), 2, "{plans:?}");
    let mut per_level = [0u64; 3];
    let mut versions = BTreeMap::new();
    for p in &plans {
        let id = p["id"].as_i64().unwrap();
        let n = grids_per_level(s, id);
        for l in 0..3 {
            per_level[l] += n[l];
        }
        versions.insert(id, n.iter().sum::<u64>() as usize);
    }

    // Every grid of every new version, once, with its figures.
    let all = features(s, &format!("{CURRENT}/items"), &admin);
    assert_eq!(all.len() as u64, per_level.iter().sum::<u64>());
    assert_eq!(by_version(&all), versions);
    for (l, want) in per_level.iter().enumerate() {
        let got = features(s, &format!("{CURRENT}/items?level={}", l + 1), &admin);
        assert_eq!(got.len() as u64, *want, "level {}", l + 1);
        assert!(got.iter().all(|f| f["properties"]["level"] == l + 1));
    }
    let fids: BTreeSet<i64> = all.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert_eq!(fids.len(), all.len(), "ids unique in the collection");
    assert!(fids.iter().all(|&i| 0 < i && i < 1 << 53));
    for f in &all {
        let p = &f["properties"];
        assert_eq!(f["geometry"]["type"], "MultiPolygon", "{p}");
        for k in [
            "number",
            "region",
            "code",
            "households",
            "balance",
            "in_range",
        ] {
            assert!(!p[k].is_null(), "{k}: {p}");
        }
        assert!(p["code"]
            .as_str()
            .unwrap()
            .starts_with(p["region"].as_str().unwrap()));
        assert_eq!(p["level"] == 1, p["parent"].is_null(), "{p}");
        let text = p.to_string();
        for personal in ["head_name", "phone", "address"] {
            assert!(!text.contains(personal), "{text}");
        }
    }
    let level1: u64 = all
        .iter()
        .filter(|f| f["properties"]["level"] == 1)
        .map(|f| f["properties"]["households"].as_u64().unwrap())
        .sum();
    assert!(level1 > 0);
    // One feature by id: the same feature, with its links.
    let some = &all[all.len() / 2];
    let one = ok(s, &format!("{CURRENT}/items/{}", some["id"]), &admin);
    for k in ["id", "geometry", "properties"] {
        assert_eq!(one[k], some[k], "{k}");
    }
    assert!(one["links"].as_array().unwrap().len() == 2, "{one}");
    // The extent covers the planned communities.
    let bbox = &ok(s, CURRENT, &admin)["extent"]["spatial"]["bbox"][0];
    assert_eq!(bbox.as_array().map(Vec::len), Some(4), "{bbox}");
    // Paging carries the filters on.
    let page = ok(s, &format!("{CURRENT}/items?level=3&limit=2"), &admin);
    let next = page["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .and_then(|l| l["href"].as_str())
        .unwrap()
        .to_string();
    assert!(next.contains("level=3"), "{next}");

    // GDAL's OGC API driver counts as many.
    let gdal_count = |collection: &str| {
        let url = format!("OAPIF:{}", s.url("/ogc"));
        feature_count(&gdal("ogrinfo", Some(&admin), &["-ro", "-so", &url, collection]).0)
    };
    assert_eq!(gdal_count("plan_grids_current"), all.len() as u64);

    // A viewer reads them too (no personal field); nothing is published.
    assert_eq!(
        features(s, &format!("{CURRENT}/items"), &viewer).len(),
        all.len()
    );
    assert!(features(s, &format!("{PUBLISHED}/items"), &admin).is_empty());
    assert!(ok(s, PUBLISHED, &admin)["extent"].is_null());

    // An edit saved over HTTP: the collection shows the new version, and
    // ?version= the old one.
    let (&old, &old_n) = versions.iter().next().unwrap();
    let new = save(s, old, false);
    let after = features(s, &format!("{CURRENT}/items"), &admin);
    let seen = by_version(&after);
    assert_eq!(seen.get(&new), Some(&old_n), "{seen:?}");
    assert!(!seen.contains_key(&old), "{seen:?}");
    assert_eq!(after.len(), all.len());
    let was = features(s, &format!("{CURRENT}/items?version={old}"), &admin);
    assert_eq!(by_version(&was), BTreeMap::from([(old, old_n)]));
    let old_id = was[0]["id"].as_i64().unwrap();
    let (status, _) = problem(s, &format!("{CURRENT}/items/{old_id}"), &admin);
    assert_eq!(status, 404, "an old version's grid is not current");
    let one = ok(
        s,
        &format!("{CURRENT}/items/{old_id}?version={old}"),
        &admin,
    );
    assert_eq!(one["properties"], was[0]["properties"]);
    let page = ok(s, &format!("{CURRENT}/items?version={old}&limit=1"), &admin);
    assert!(
        page.to_string().contains(&format!("version={old}")),
        "{page}"
    );

    // Published: the version published, and still it after a later edit.
    let published = save(s, new, true);
    let pubs = features(s, &format!("{PUBLISHED}/items"), &admin);
    assert_eq!(by_version(&pubs), BTreeMap::from([(published, old_n)]));
    let current_of_region: Vec<Value> = features(s, &format!("{CURRENT}/items"), &admin)
        .into_iter()
        .filter(|f| f["properties"]["version"] == published)
        .collect();
    assert_eq!(
        pubs, current_of_region,
        "the same grids as the current plan"
    );
    assert!(!ok(s, PUBLISHED, &admin)["extent"].is_null());
    assert_eq!(gdal_count("plan_grids_published"), pubs.len() as u64);
    let later = save(s, published, false);
    let pubs2 = features(s, &format!("{PUBLISHED}/items"), &admin);
    assert_eq!(pubs2, pubs, "the published plan stays after an edit");
    let cur = by_version(&features(s, &format!("{CURRENT}/items"), &admin));
    assert!(
        cur.contains_key(&later) && !cur.contains_key(&published),
        "{cur:?}"
    );
    let one = ok(s, &format!("{PUBLISHED}/items/{}", pubs[0]["id"]), &admin);
    assert_eq!(one["properties"], pubs[0]["properties"]);

    // Scope: a caller of another community sees none of it.
    for c in [CURRENT, PUBLISHED] {
        assert!(
            features(s, &format!("{c}/items"), &outsider).is_empty(),
            "{c}"
        );
        assert!(ok(s, c, &outsider)["extent"].is_null(), "{c}");
        let (status, code) = problem(s, &format!("{c}/items?version={later}"), &outsider);
        assert_eq!(
            (status, code.as_str()),
            (404, "unknown_plan_version"),
            "{c}"
        );
        let (status, _) = problem(s, &format!("{c}/items/{}", pubs[0]["id"]), &outsider);
        assert_eq!(status, 404, "{c}");
    }

    // Problems: unknown versions, bad parameters.
    for (path, want, code) in [
        (
            format!("{CURRENT}/items?version=999999"),
            404,
            "unknown_plan_version",
        ),
        (
            format!("{PUBLISHED}/items?version=999999"),
            404,
            "unknown_plan_version",
        ),
        (
            format!("{CURRENT}/items/5?version=999999"),
            404,
            "not_found",
        ),
        (format!("{CURRENT}/items?version=abc"), 400, "bad_request"),
        (format!("{CURRENT}/items?version=0"), 400, "bad_request"),
        (format!("{CURRENT}/items?level=4"), 400, "bad_request"),
        (
            "/ogc/collections/grids/items?version=1".into(),
            400,
            "bad_request",
        ),
        (format!("{CURRENT}/items/12"), 404, "not_found"),
        (format!("{CURRENT}/items/abc"), 404, "not_found"),
    ] {
        let (status, got) = problem(s, &path, &admin);
        assert_eq!((status, got.as_str()), (want, code), "{path}");
    }
}

#[test]
fn ogc_plan_collections_follow_generation_edits_publishing_and_scope() {
    let dir = tempfile::tempdir().unwrap();
    let (store, planned, other) = city(dir.path());
    let users = users(store.to_str().unwrap(), &other);
    let s = Server::start(&store, &[]);
    journey(&s, &planned, users);
}

#[test]
fn ogc_plan_collections_on_postgis() {
    let dir = tempfile::tempdir().unwrap();
    let (store, planned, other) = city(dir.path());
    let url = crate::postgis::fresh_url("ogcplans");
    let (ok, out, err) = wangge(&[
        "copy",
        "--from",
        store.to_str().unwrap(),
        "--to",
        &url,
        "--quiet",
    ]);
    assert!(ok, "copy into PostGIS: {out}{err}");
    let token = user_with_token_in(&url, "ogc-plan-admin", "admin", "*");
    let users = users(&url, &other);
    let s = Server::start_with(&["--database", &url], token);
    journey(&s, &planned, users);
}
