//! OGC API – Features at `/ogc`, proven with real clients against the real
//! binary: Debian's GDAL (`ogrinfo`, `ogr2ogr`, OAPIF driver) and OWSLib
//! (PyPI, tests/requirements.txt), plus the documents, paging links and
//! problem answers over plain HTTP.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{generated, user_with_token, wangge, Server};
use crate::http_api::fixture;

/// The collections: one per layer, water as areas and lines apart.
pub const LAYERS: [&str; 9] = [
    "regions",
    "atoms",
    "households",
    "people",
    "roads",
    "buildings",
    "water",
    "waterways",
    "grids",
];
/// The plan collections: each region's newest (published) plan version's
/// grids, also GeoPackage layers of the same names (tests/e2e/ogc_plans.rs
/// has their own journey).
pub const PLAN_COLLECTIONS: [&str; 2] = ["plan_grids_current", "plan_grids_published"];

/// Every collection, in the order `/ogc/collections` lists them.
pub fn collections() -> Vec<&'static str> {
    LAYERS.iter().chain(&PLAN_COLLECTIONS).copied().collect()
}

/// A community of the generated city, the scoped user's whole territory.
const COMMUNITY: &str = "610902001001";

pub fn city(dir: &Path) -> PathBuf {
    let store = generated(dir, "1000", "3");
    // A plan makes the atoms, so that every collection has features.
    let (ok, out, err) = wangge(&["partition", "--store", store.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    store
}

/// Runs a GDAL tool as the holder of `token` (None: on a local file);
/// returns stdout, and stderr for the request log under CPL_DEBUG.
pub fn gdal(tool: &str, token: Option<&str>, args: &[&str]) -> (String, String) {
    let mut cmd = Command::new(tool);
    if let Some(t) = token {
        cmd.args([
            "--config",
            "GDAL_HTTP_HEADERS",
            &format!("Authorization: Bearer {t}"),
        ]);
    }
    let out = cmd
        .args(args)
        .env("GDAL_HTTP_TIMEOUT", "60")
        .output()
        .unwrap_or_else(|e| {
            panic!("{tool} runs ({e}): install Debian's gdal-bin (scripts/test does)")
        });
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "{tool} {args:?} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// `Feature Count: N` of an `ogrinfo -so` summary.
pub fn feature_count(summary: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .unwrap_or_else(|| panic!("no feature count in:\n{summary}"))
        .trim()
        .parse()
        .unwrap()
}

/// What the layers API says `token` may see of a layer (optionally in a bbox).
fn matched(server: &Server, token: &str, layer: &str, bbox: Option<&str>) -> u64 {
    let q = bbox.map_or(String::new(), |b| format!("&bbox={b}"));
    // One layer of ours, two collections: water areas and waterways.
    if layer == "water" || layer == "waterways" {
        let (status, v, _) =
            server.get_as(&format!("/api/layers/water?limit=10000{q}"), Some(token));
        assert_eq!(status, 200, "{v}");
        let lines = |f: &&serde_json::Value| {
            f["geometry"]["type"]
                .as_str()
                .is_some_and(|t| t.contains("LineString"))
        };
        let features = v["features"].as_array().unwrap();
        let n = features.iter().filter(lines).count();
        return if layer == "waterways" {
            n as u64
        } else {
            (features.len() - n) as u64
        };
    }
    let (status, v, _) = server.get_as(&format!("/api/layers/{layer}?limit=0{q}"), Some(token));
    assert_eq!(status, 200, "{v}");
    v["numberMatched"].as_u64().unwrap()
}

/// The middle quarter of the households' extent as the admin sees it.
fn middle_of_households(server: &Server) -> [f64; 4] {
    let (status, v, _) = server.get_json("/ogc/collections/households");
    assert_eq!(status, 200, "{v}");
    let b: Vec<f64> = v["extent"]["spatial"]["bbox"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    [
        b[0] + w / 4.0,
        b[1] + h / 4.0,
        b[2] - w / 4.0,
        b[3] - h / 4.0,
    ]
}

#[test]
fn ogc_gdal_reads_every_collection_pages_filters_and_copies() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let office = user_with_token(&store, "ogc-office", "office", COMMUNITY);
    let viewer = user_with_token(&store, "ogc-viewer", "viewer", "*");
    let server = Server::start(&store, &[]);
    let admin = server.token.clone();
    let url = format!("OAPIF:{}", server.url("/ogc"));
    let local = store.to_str().unwrap();

    // Every collection is listed, and each holds exactly the store's
    // features (counted by GDAL on the GeoPackage itself).
    let (list, _) = gdal("ogrinfo", Some(&admin), &["-ro", "-q", &url]);
    for layer in LAYERS {
        assert!(
            list.lines().any(|l| l.contains(&format!(": {layer}"))),
            "{layer} not listed:\n{list}"
        );
        let want = feature_count(&gdal("ogrinfo", None, &["-ro", "-so", local, layer]).0);
        assert!(want > 0, "the generated city has {layer}");
        let got = feature_count(&gdal("ogrinfo", Some(&admin), &["-ro", "-so", &url, layer]).0);
        assert_eq!(got, want, "{layer}: OAPIF count against the store's");
    }

    // Paging: 7 features a request, every one read once.
    for layer in ["households", "people"] {
        let want = matched(&server, &admin, layer, None);
        assert!(want > 21, "{layer}: enough for several pages");
        let (out, log) = gdal(
            "ogrinfo",
            Some(&admin),
            &[
                "-ro",
                "-al",
                "-oo",
                "PAGE_SIZE=7",
                "--config",
                "CPL_DEBUG",
                "ON",
                &url,
                layer,
            ],
        );
        let read = out.lines().filter(|l| l.starts_with("OGRFeature(")).count() as u64;
        assert_eq!(read, want, "{layer}: features read by paging");
        let requests = log.lines().filter(|l| l.contains("limit=7")).count() as u64;
        assert!(
            requests >= want / 7,
            "{layer}: {requests} requests of 7 for {want} features"
        );
    }

    // A bbox filter: what GDAL's spatial filter gets is what the API counts.
    let b = middle_of_households(&server);
    let bbox = format!("{},{},{},{}", b[0], b[1], b[2], b[3]);
    let want = matched(&server, &admin, "households", Some(&bbox));
    let total = matched(&server, &admin, "households", None);
    assert!(0 < want && want < total, "{want} of {total} in the bbox");
    let spat: Vec<String> = b.iter().map(ToString::to_string).collect();
    let (out, _) = gdal(
        "ogrinfo",
        Some(&admin),
        &[
            "-ro",
            "-so",
            "-spat",
            &spat[0],
            &spat[1],
            &spat[2],
            &spat[3],
            &url,
            "households",
        ],
    );
    assert_eq!(feature_count(&out), want, "households in {bbox}");

    // ogr2ogr copies collections into a GeoPackage, feature for feature.
    let copy = dir.path().join("copy.gpkg");
    gdal(
        "ogr2ogr",
        Some(&admin),
        &[
            "-f",
            "GPKG",
            copy.to_str().unwrap(),
            &url,
            "-oo",
            "PAGE_SIZE=1000",
            "buildings",
            "households",
        ],
    );
    for layer in ["buildings", "households"] {
        let want = matched(&server, &admin, layer, None);
        let got = feature_count(
            &gdal(
                "ogrinfo",
                None,
                &["-ro", "-so", copy.to_str().unwrap(), layer],
            )
            .0,
        );
        assert_eq!(got, want, "{layer} copied");
    }

    // Scope: a community office sees its community's households only.
    let scoped = feature_count(
        &gdal(
            "ogrinfo",
            Some(&office),
            &["-ro", "-so", &url, "households"],
        )
        .0,
    );
    let want = matched(&server, &office, "households", None);
    assert!(0 < want && want < total, "{want} of {total} in {COMMUNITY}");
    assert_eq!(scoped, want, "the office's households");

    // Personal fields per role: the admin reads phones, a viewer none.
    let phones = |token: &str| {
        let (out, _) = gdal(
            "ogrinfo",
            Some(token),
            &["-ro", "-al", "-oo", "PAGE_SIZE=1000", &url, "people"],
        );
        out.lines()
            .filter_map(|l| l.trim().strip_prefix("phone (String) = "))
            .filter(|p| p.chars().any(|c| c.is_ascii_digit()))
            .count()
    };
    assert!(phones(&admin) > 0, "the admin sees phone numbers");
    // A viewer sees households and people only as counts: GDAL lists
    // neither collection for them, and reading one is refused.
    let (list, _) = gdal("ogrinfo", Some(&viewer), &["-ro", "-q", &url]);
    assert!(
        list.lines().any(|l| l.contains(": regions"))
            && !list
                .lines()
                .any(|l| l.contains(": households") || l.contains(": people")),
        "{list}"
    );
    let (status, v, _) = server.get_as("/ogc/collections/people/items", Some(&viewer));
    assert_eq!(
        (status, v["code"].as_str()),
        (403, Some("counts_only")),
        "{v}"
    );
}

#[test]
fn ogc_owslib_reads_landing_conformance_collections_and_items() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let server = Server::start(&store, &[]);
    let python = std::env::var("WANGGE_PYTHON").unwrap_or_else(|_| "python3".into());
    let b = middle_of_households(&server);
    let bbox = format!("{},{},{},{}", b[0], b[1], b[2], b[3]);
    let out = Command::new(&python)
        .arg(crate::common::repo_root().join("tests/ogc/owslib_client.py"))
        .args([&server.url("/ogc"), &server.token, &bbox])
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "OWSLib failed (is OWSLib from tests/requirements.txt installed for {python}? \
         scripts/test sets WANGGE_PYTHON):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");

    assert_eq!(
        v["landing_rels"],
        serde_json::json!(["conformance", "data", "self", "service-desc"])
    );
    for class in ["core", "geojson", "oas30"] {
        let want = format!("http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/{class}");
        assert!(
            v["conformance"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == &want),
            "{class}: {}",
            v["conformance"]
        );
    }
    assert_eq!(v["feature_collections"], serde_json::json!(collections()));
    let paths = v["api_paths"].as_array().unwrap();
    assert!(
        paths
            .iter()
            .any(|p| p == "/ogc/collections/{collectionId}/items"),
        "{paths:?}"
    );
    for layer in LAYERS {
        let c = &v["collections"][layer];
        let want = matched(&server, &server.token, layer, None);
        assert_eq!(c["numberMatched"].as_u64(), Some(want), "{layer}: {c}");
        assert_eq!(c["numberReturned"].as_u64(), Some(want.min(5)), "{layer}");
        assert_eq!(c["features"].as_u64(), Some(want.min(5)), "{layer}");
        assert_eq!(
            c["crs"],
            serde_json::json!(["http://www.opengis.net/def/crs/OGC/1.3/CRS84"])
        );
        assert_eq!(c["bbox"][0].as_array().map(Vec::len), Some(4), "{layer}");
        let rels = c["rels"].as_array().unwrap();
        assert_eq!(
            rels.iter().any(|r| r == "next"),
            want > 5,
            "{layer}: a next link exactly when more pages follow: {rels:?}"
        );
    }
    // The current plan: every grid the GeoPackage's layer of it holds.
    let grids = feature_count(
        &gdal(
            "ogrinfo",
            None,
            &["-ro", "-so", store.to_str().unwrap(), "plan_grids_current"],
        )
        .0,
    );
    assert!(grids > 0);
    let c = &v["collections"]["plan_grids_current"];
    assert_eq!(c["numberMatched"].as_u64(), Some(grids), "{c}");
    assert_eq!(c["bbox"][0].as_array().map(Vec::len), Some(4), "{c}");
    let want = matched(&server, &server.token, "households", Some(&bbox));
    assert_eq!(
        v["bbox"]["numberMatched"].as_u64(),
        Some(want),
        "{}",
        v["bbox"]
    );
    assert_eq!(v["bbox"]["numberReturned"].as_u64(), Some(want.min(3)));
    assert_eq!(v["bbox"]["inside"], true);
    let total = matched(&server, &server.token, "households", None);
    assert_eq!(v["paged_households"]["count"].as_u64(), Some(total));
    assert_eq!(v["paged_households"]["distinct"].as_u64(), Some(total));
    assert_eq!(v["item"]["asked"], v["item"]["got"]);
    assert_eq!(v["item"]["type"], "Feature");
}

/// The href of the link with this rel, if any.
fn href<'a>(v: &'a Value, rel: &str) -> Option<&'a str> {
    v["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
}

#[test]
fn ogc_documents_paging_links_and_problems_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let scoped = user_with_token(&store, "ogc-kan", "office", "110101001001");
    let server = Server::start(&store, &[]);

    let (status, v, ctype) = server.get_json("/ogc");
    assert_eq!((status, ctype.as_str()), (200, "application/json"), "{v}");
    assert_eq!(
        href(&v, "service-desc"),
        Some(server.url("/api/openapi.json").as_str())
    );
    assert_eq!(
        href(&v, "data"),
        Some(server.url("/ogc/collections").as_str())
    );
    let (status, _, _) = server.get_json("/ogc/?f=json");
    assert_eq!(status, 200);

    let (_, v, _) = server.get_json("/ogc/collections");
    let ids: Vec<&str> = v["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, collections());
    let (_, v, _) = server.get_json("/ogc/collections/households");
    assert_eq!(v["itemType"], "feature");
    assert_eq!(
        v["extent"]["spatial"]["bbox"],
        serde_json::json!([[116.405, 39.901, 116.419, 39.915]])
    );

    // A scoped caller's extent covers only its households (1, 2 and 4).
    let (_, v, _) = server.get_as("/ogc/collections/households", Some(&scoped));
    assert_eq!(
        v["extent"]["spatial"]["bbox"],
        serde_json::json!([[116.405, 39.905, 116.41, 39.915]])
    );

    // Paging with limit and offset: self, next and prev links, figures.
    let (status, v, ctype) = server.get_json("/ogc/collections/households/items?limit=4");
    assert_eq!(
        (status, ctype.as_str()),
        (200, "application/geo+json"),
        "{v}"
    );
    assert_eq!(
        (v["numberMatched"].as_u64(), v["numberReturned"].as_u64()),
        (Some(6), Some(4))
    );
    assert!(v["timeStamp"].as_str().unwrap().ends_with('Z'), "{v}");
    assert!(href(&v, "prev").is_none());
    let next = href(&v, "next").unwrap().to_string();
    let path = next.strip_prefix(&server.base).unwrap();
    let (_, v2, _) = server.get_json(path);
    assert_eq!(v2["numberReturned"], 2, "{v2}");
    assert!(href(&v2, "next").is_none());
    let prev = href(&v2, "prev").unwrap();
    assert!(prev.ends_with("limit=4&offset=0"), "{prev}");
    let mut seen: Vec<i64> = v["features"]
        .as_array()
        .unwrap()
        .iter()
        .chain(v2["features"].as_array().unwrap())
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, [1, 2, 3, 4, 5, 6]);

    // bbox: the community 001's west half holds households 1 and 2.
    let (_, v, _) =
        server.get_json("/ogc/collections/households/items?bbox=116.40,39.90,116.409,39.92");
    assert_eq!(v["numberMatched"], 2, "{v}");
    let (status, v, ctype) = server.get_json("/ogc/collections/households/items/2");
    assert_eq!((status, ctype.as_str()), (200, "application/geo+json"));
    assert_eq!(v["id"], 2);
    assert!(href(&v, "collection").is_some());

    // Problems, as the API's problem documents.
    for (path, want) in [
        ("/ogc/collections/households/items?bbox=1,2,3", 400),
        ("/ogc/collections/households/items?bbox=3,2,1,4", 400),
        ("/ogc/collections/households/items?limit=0", 400),
        ("/ogc/collections/households/items?limit=10001", 400),
        ("/ogc/collections/households/items?limit=x", 400),
        ("/ogc/collections/households/items?colour=red", 400),
        ("/ogc/collections?f=html", 400),
        ("/ogc/collections/nosuch", 404),
        ("/ogc/collections/nosuch/items", 404),
        ("/ogc/collections/households/items/999", 404),
        ("/ogc/collections/households/items/abc", 404),
        ("/ogc/nosuch", 404),
    ] {
        let (status, v, ctype) = server.get_json(path);
        assert_eq!(status, want, "{path}: {v}");
        assert_eq!(ctype, "application/problem+json", "{path}");
        assert_eq!(v["status"], want, "{path}");
    }
    // Signed out: 401, like /api/layers.
    let (status, _, _) = server.get_as("/ogc/collections/households/items", None);
    assert_eq!(status, 401);
    // A client that takes HTML only is told so.
    let resp = ureq::get(&server.url("/ogc/collections"))
        .header("Authorization", &format!("Bearer {}", server.token))
        .header("Accept", "text/html")
        .config()
        .http_status_as_error(false)
        .build()
        .call()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 406);
}
