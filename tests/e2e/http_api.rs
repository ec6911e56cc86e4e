//! The server over HTTP: health, regions with rolled-up counts, paged and
//! bbox-filtered layers, problem documents, graceful shutdown. The fixture
//! has a concave (L-shaped) street, two communities sharing an edge, a
//! household on that edge and one in the L's notch.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{wangge, Server};

const REGIONS: &str = r#"{"type":"FeatureCollection","features":[
 {"type":"Feature","properties":{"code":"110101001","name":"东华门街道"},
  "geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.42,39.90],[116.42,39.91],[116.41,39.91],[116.41,39.92],[116.40,39.92],[116.40,39.90]]]}},
 {"type":"Feature","properties":{"code":"110101001001","name":"多福巷社区"},
  "geometry":{"type":"Polygon","coordinates":[[[116.40,39.90],[116.41,39.90],[116.41,39.92],[116.40,39.92],[116.40,39.90]]]}},
 {"type":"Feature","properties":{"code":"110101001002","name":"银闸社区"},
  "geometry":{"type":"Polygon","coordinates":[[[116.41,39.90],[116.42,39.90],[116.42,39.91],[116.41,39.91],[116.41,39.90]]]}}
]}"#;

const HOUSEHOLDS: &str = "编号,经度,纬度,人数,户类别,地址\n\
1,116.405,39.905,3,放心户,多福巷1号\n\
2,116.405,39.915,1,连心户,多福巷9号\n\
3,116.415,39.905,2,关心户,银闸胡同2号\n\
4,116.41,39.905,2,放心户,界线上\n\
5,116.415,39.915,4,放心户,缺口里\n\
6,116.419,39.901,1,放心户,银闸胡同8号\n";

/// A store with the fixture imported.
pub fn fixture(dir: &Path) -> PathBuf {
    let store = dir.join("city.gpkg");
    std::fs::write(dir.join("regions.geojson"), REGIONS).unwrap();
    std::fs::write(dir.join("households.csv"), HOUSEHOLDS).unwrap();
    let s = store.to_str().unwrap();
    let (ok, out, err) = wangge(&[
        "import",
        "regions",
        dir.join("regions.geojson").to_str().unwrap(),
        "--store",
        s,
        "--crs",
        "wgs84",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("regions: 3 stored"), "{out}");
    let (ok, out, err) = wangge(&[
        "import",
        "households",
        dir.join("households.csv").to_str().unwrap(),
        "--store",
        s,
        "--crs",
        "wgs84",
    ]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("households: 6 stored"), "{out}");
    assert!(
        out.contains("1 households/people lie in no known region"),
        "{out}"
    );
    store
}

fn households_of(s: &Server, code: &str) -> u64 {
    let (status, v, _) = s.get_json(&format!("/api/regions/{code}"));
    assert_eq!(status, 200, "{v}");
    v["counts"]["households"].as_u64().unwrap()
}

#[test]
fn regions_layers_paging_and_problems() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&fixture(dir.path()), &[]);

    let (status, v, _) = server.get_json("/health");
    assert_eq!(status, 200, "{v}");
    let (_, v, _) = server.get_json("/api/version");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"), "{v}");

    // Regions with bbox and counts rolled up the hierarchy; the boundary
    // household goes to the smaller code, the notch household to none.
    let (_, v, _) = server.get_json("/api/regions");
    let regions = v["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 3);
    let street = regions
        .iter()
        .find(|r| r["code"] == "110101001000")
        .unwrap();
    assert_eq!(
        street["bbox"],
        serde_json::json!([116.40, 39.90, 116.42, 39.92])
    );
    assert_eq!(households_of(&server, "110101001001"), 3);
    assert_eq!(households_of(&server, "110101001002"), 2);
    assert_eq!(households_of(&server, "110101001"), 5);
    let (_, v, _) = server.get_json("/api/layers/households/4");
    assert_eq!(v["properties"]["region"], "110101001001", "{v}");
    let (_, v, _) = server.get_json("/api/layers/households/5");
    assert_eq!(v["properties"]["region"], Value::Null, "{v}");
    let (_, v, _) = server.get_json("/api/regions/110101001");
    assert_eq!(v["boundary"]["type"], "MultiPolygon", "{v}");
    assert_eq!(
        v["boundary"]["coordinates"][0][0].as_array().unwrap().len(),
        7
    );

    // Paging with next links until the end.
    let mut url = "/api/layers/households?limit=4".to_string();
    let mut ids = Vec::new();
    loop {
        let (status, page, ctype) = server.get_json(&url);
        assert_eq!(status, 200, "{page}");
        assert!(ctype.contains("json"), "{ctype}");
        assert_eq!(page["numberMatched"], 6);
        ids.extend(
            page["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["id"].as_i64().unwrap()),
        );
        let next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next");
        match next {
            Some(l) => url = l["href"].as_str().unwrap().replace(&server.base, ""),
            None => break,
        }
    }
    assert_eq!(ids, vec![1, 2, 3, 4, 5, 6]);

    // bbox (closed on every side): households 1, 2 and 4 lie in the western half.
    let (_, page, _) = server.get_json("/api/layers/households?bbox=116.40,39.90,116.41,39.92");
    let mut ids: Vec<i64> = page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, vec![1, 2, 4]);

    // Problems: application/problem+json with status and a detail that says what.
    for (path, status, needle) in [
        ("/api/layers/households?bbox=116.4,39.9,oops", 400, "bbox"),
        (
            "/api/layers/households?bbox=116.42,39.9,116.40,39.92",
            400,
            "bbox",
        ),
        ("/api/layers/households?limit=abc", 400, "limit"),
        ("/api/layers/nope", 404, "nope"),
        ("/api/layers/households/999", 404, "999"),
        ("/api/regions/999999", 404, "999999"),
        ("/api/regions/12ab", 400, "12ab"),
        ("/api/nothing/here", 404, "/api/nothing/here"),
    ] {
        let (got, v, ctype) = server.get_json(path);
        assert_eq!(got, status, "{path}: {v}");
        assert!(
            ctype.starts_with("application/problem+json"),
            "{path}: {ctype}"
        );
        assert_eq!(v["status"], status, "{path}: {v}");
        assert!(
            v["detail"].as_str().unwrap_or_default().contains(needle),
            "{path}: {v}"
        );
    }
}

#[test]
fn sigterm_shuts_down_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(&fixture(dir.path()), &[]);
    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "server did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
