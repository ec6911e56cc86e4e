//! `wangge import` on bad input: every importer names file, place, field
//! and problem; nothing is stored unless `--skip-invalid`; a `kill -9` in
//! the middle of an import leaves the store as it was; GDAL reads the store.

use std::path::Path;
use std::process::Command;

use crate::common::wangge;
use crate::http_api::fixture;

/// Feature counts per layer from `wangge info`.
fn counts(store: &Path) -> Vec<(String, u64)> {
    let (ok, out, err) = wangge(&["info", "--store", store.to_str().unwrap()]);
    assert!(ok, "{err}");
    out.lines()
        .skip(1)
        .map(|l| {
            let mut it = l.split_whitespace();
            (
                it.next().unwrap().to_string(),
                it.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn import(store: &Path, layer: &str, file: &Path, extra: &[&str]) -> (bool, String, String) {
    let mut args = vec![
        "import",
        layer,
        file.to_str().unwrap(),
        "--store",
        store.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    if !extra.contains(&"--crs") {
        args.extend_from_slice(&["--crs", "wgs84"]);
    }
    wangge(&args)
}

const SQUARE: &str =
    "[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91],[116.40,39.90]]]";

fn regions_file(dir: &Path, name: &str, geometries: &[&str]) -> std::path::PathBuf {
    let features: Vec<String> = geometries
        .iter()
        .enumerate()
        .map(|(i, g)| format!(r#"{{"type":"Feature","properties":{{"code":"1101010020{i:02}"}},"geometry":{{"type":"Polygon","coordinates":{g}}}}}"#))
        .collect();
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            r#"{{"type":"FeatureCollection","features":[{}]}}"#,
            features.join(",\n")
        ),
    )
    .unwrap();
    p
}

#[test]
fn bad_input_is_explained_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let before = counts(&store);
    let d = dir.path();

    // (file, layer, extra args, what the message must say)
    let csv = |name: &str, text: &str| {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let cases: Vec<(std::path::PathBuf, &str, Vec<&str>, Vec<&str>)> = vec![
        (csv("broken.geojson", "{\"type\":\"FeatureCollection\",\n\"features\":[{\"type\":\"Feature\",}]}"), "regions", vec![], vec!["broken.geojson", "invalid JSON", "line 2"]),
        (regions_file(d, "unclosed.geojson", &[SQUARE, "[[[116.40,39.90],[116.41,39.90],[116.41,39.91],[116.40,39.91]]]"]), "regions", vec![], vec!["unclosed.geojson: feature 1", "field geometry", "not closed"]),
        (regions_file(d, "bowtie.geojson", &["[[[116.40,39.90],[116.41,39.91],[116.41,39.90],[116.40,39.91],[116.40,39.90]]]"]), "regions", vec![], vec!["bowtie.geojson: feature 0", "crosses itself", "(116.4050000, 39.9050000)"]),
        (regions_file(d, "swapped.geojson", &["[[[39.90,116.40],[39.90,116.41],[39.91,116.41],[39.90,116.40]]]"]), "regions", vec![], vec!["feature 0", "swapped"]),
        (regions_file(d, "metres.geojson", &["[[[448000,4417000],[449000,4417000],[449000,4418000],[448000,4417000]]]"]), "regions", vec![], vec!["feature 0", "projected"]),
        (csv("nan.csv", "id,lon,lat\n10,116.40,39.90\n11,NaN,39.9\n"), "households", vec![], vec!["nan.csv: line 3", "field geometry", "finite"]),
        (csv("swapped.csv", "id,lon,lat\n10,39.90,116.40\n"), "households", vec![], vec!["swapped.csv: line 2", "swapped"]),
        (csv("nolon.csv", "id,x_coord,lat\n10,116.4,39.9\n"), "households", vec![], vec!["nolon.csv", "missing column for longitude", "\"x_coord\"", "--lon-col"]),
        (csv("badcare.csv", "id,lon,lat,care\n10,116.4,39.9,特别户\n"), "households", vec![], vec!["line 2", "field care", "特别户"]),
        (csv("ok.csv", "id,lon,lat\n10,116.4,39.9\n"), "households", vec!["--crs", "utm50"], vec!["unknown CRS", "utm50"]),
        (csv("garbage.xlsx", "not a workbook"), "households", vec![], vec!["garbage.xlsx", "not a readable workbook"]),
        (csv("garbage.osm.pbf", "not a pbf"), "all", vec![], vec!["garbage.osm.pbf", "PBF"]),
        (csv("layers.csv", "id,lon,lat\n"), "regions", vec![], vec!["regions cannot be read from a table"]),
    ];
    for (file, layer, extra, needles) in &cases {
        let (ok, out, err) = import(&store, layer, file, extra);
        assert!(!ok, "{} was accepted: {out}", file.display());
        for n in needles {
            assert!(
                err.contains(n),
                "{}: message lacks {n:?}:\n{err}",
                file.display()
            );
        }
        assert_eq!(
            counts(&store),
            before,
            "{} changed the store",
            file.display()
        );
    }

    // Several bad records are all reported, and the good ones not stored.
    let many = csv("many.csv", "id,lon,lat,size\n20,116.401,39.901,2\n21,abc,39.9,1\n22,116.402,39.902,0\n23,116.403,39.903,1\n");
    let (ok, _, err) = import(&store, "households", &many, &[]);
    assert!(!ok);
    assert!(
        err.contains("2 bad record(s), nothing was stored")
            && err.contains("line 3")
            && err.contains("line 4"),
        "{err}"
    );
    assert_eq!(counts(&store), before);

    // --skip-invalid stores the rest and lists what it skipped.
    let (ok, out, err) = import(&store, "households", &many, &["--skip-invalid"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("households: 2 stored") && out.contains("2 bad record(s) skipped"),
        "{out}"
    );
    assert!(
        out.contains("many.csv: line 3, field lon") && out.contains("many.csv: line 4, field size"),
        "{out}"
    );
}

#[test]
fn gb18030_csv_is_read_like_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let text = "编号,经度,纬度,人数,户类别,地址,户主姓名,联系电话\n31,116.401,39.901,2,连心户,东城区多福巷3号,张三,13812345678\n";
    let (bytes, _, unmappable) = encoding_rs::GB18030.encode(text);
    assert!(!unmappable);
    let path = dir.path().join("gb.csv");
    std::fs::write(&path, &bytes).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture must not be UTF-8"
    );
    let (ok, out, err) = import(&store, "households", &path, &[]);
    assert!(ok && out.contains("households: 1 stored"), "{out}{err}");
    let server = crate::common::Server::start(&store, &[]);
    let (_, v, _) = server.get_json("/api/layers/households/31");
    assert_eq!(v["properties"]["address"], "东城区多福巷3号", "{v}");
    assert_eq!(v["properties"]["care"], 2, "{v}");
    assert_eq!(v["properties"]["region"], "110101001001", "{v}");

    // Naming the wrong encoding fails with a hint, storing nothing.
    let (ok, _, err) = import(&store, "households", &path, &["--encoding", "utf-8"]);
    assert!(!ok && err.contains("--encoding"), "{err}");
}

#[test]
fn kill_9_during_an_import_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let before = counts(&store);
    let big = dir.path().join("big.csv");
    let mut text = String::from("id,lon,lat,size\n");
    for i in 0..400_000u32 {
        let (x, y) = (
            116.40 + f64::from(i % 1000) * 1e-5,
            39.90 + f64::from(i / 1000) * 2e-5,
        );
        text.push_str(&format!("{},{x:.6},{y:.6},2\n", 1000 + i));
    }
    std::fs::write(&big, text).unwrap();
    let mut child = Command::new(crate::common::wangge_bin())
        .args([
            "import",
            "households",
            big.to_str().unwrap(),
            "--crs",
            "wgs84",
            "--store",
            store.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the import is writing (its rollback journal exists), then kill it.
    let journal = store.with_extension("gpkg-journal");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !journal.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the import ended before it could be killed"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the import never started writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the import finished before the kill: make the file bigger"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        counts(&store),
        before,
        "the killed import left records behind"
    );
    // GDAL opens it too, and sees the same.
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so"])
        .arg(&store)
        .arg("households")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("Feature Count: 6"),
        "{text}"
    );
}

/// Every layer of a store holding all of them, read by Debian's GDAL.
#[test]
fn gdal_lists_and_reads_every_layer() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let d = dir.path();
    let people = d.join("people.csv");
    std::fs::write(&people, "id,name,phone,lon,lat,roles,team,skills,available,reserve,grids\n1,李四,13900000001,116.405,39.905,grid_leader,,,1,0,110101001001001\n2,王五,13900000002,116.415,39.905,volunteer,应急一队,first_aid|swim,1,1,\n").unwrap();
    let (ok, out, err) = import(&store, "people", &people, &[]);
    assert!(ok, "{out}{err}");
    let grids = d.join("grids.geojson");
    std::fs::write(&grids, format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"code":"110101001001001","level":1,"name":"一网格"}},"geometry":{{"type":"Polygon","coordinates":{SQUARE}}}}}]}}"#)).unwrap();
    let (ok, out, err) = import(&store, "grids", &grids, &[]);
    assert!(ok, "{out}{err}");
    let atoms = d.join("atoms.geojson");
    std::fs::write(&atoms, format!(r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"id":1}},"geometry":{{"type":"Polygon","coordinates":{SQUARE}}}}}]}}"#)).unwrap();
    let (ok, out, err) = import(&store, "atoms", &atoms, &["--region", "110101001001"]);
    assert!(ok, "{out}{err}");
    let basemap = d.join("basemap.geojson");
    std::fs::write(&basemap, r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"layer":"roads","kind":"minor_road","name":"多福巷"},"geometry":{"type":"LineString","coordinates":[[116.40,39.905],[116.42,39.905]]}},
      {"type":"Feature","properties":{"layer":"buildings","kind":"building","height":18},"geometry":{"type":"Polygon","coordinates":[[[116.401,39.901],[116.402,39.901],[116.402,39.902],[116.401,39.901]]]}},
      {"type":"Feature","properties":{"layer":"buildings","kind":"building"},"geometry":{"type":"Point","coordinates":[116.4015,39.9015]}},
      {"type":"Feature","properties":{"layer":"water","kind":"river","name":"御河"},"geometry":{"type":"LineString","coordinates":[[116.41,39.90],[116.41,39.92]]}},
      {"type":"Feature","properties":{"layer":"pois","kind":"cafe"},"geometry":{"type":"Point","coordinates":[116.405,39.905]}}
    ]}"#).unwrap();
    let (ok, out, err) = import(&store, "all", &basemap, &[]);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("roads: 1 stored")
            && out.contains("buildings: 1 stored")
            && out.contains("water: 1 stored"),
        "{out}"
    );

    let ours = counts(&store);
    assert_eq!(ours.len(), 8);
    assert!(
        ours.iter().all(|(_, n)| *n > 0),
        "every layer holds something: {ours:?}"
    );
    let out = Command::new("ogrinfo")
        .args(["-ro", "-q"])
        .arg(&store)
        .output()
        .expect("ogrinfo (gdal-bin) is installed");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listing}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (layer, n) in &ours {
        assert!(
            listing.contains(&format!(": {layer} ")) || listing.contains(&format!(": {layer}\n")),
            "ogrinfo does not list {layer}:\n{listing}"
        );
        // Read every feature back as GeoJSON through GDAL. Our water layer
        // is two GeoPackage tables, one geometry type each: areas and lines.
        let tables: &[&str] = if layer == "water" {
            &["water", "waterways"]
        } else {
            &[layer.as_str()]
        };
        let mut read = 0;
        for table in tables {
            let out = Command::new("ogr2ogr")
                .args(["-f", "GeoJSON", "/vsistdout/"])
                .arg(&store)
                .arg(table)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{table}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let features = v["features"].as_array().unwrap();
            assert!(
                features.iter().all(|f| !f["geometry"].is_null()),
                "{table}: GDAL could not decode a geometry"
            );
            read += features.len() as u64;
        }
        assert_eq!(read, *n, "{layer}");
    }
    // The attributes came through too; personal ones sealed (GDAL reads
    // the file, not the key).
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q"])
        .arg(&store)
        .arg("people")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("应急一队"), "{text}");
    assert!(
        text.contains("name (String) = v1:") && !text.contains("李四"),
        "{text}"
    );
}
