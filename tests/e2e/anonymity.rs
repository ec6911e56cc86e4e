//! No individual household or person for roles that see counts only: every
//! route of the route table, with real codes and ids filled in, called as
//! an anonymous visitor of a public map and as a signed-in `viewer`, on a
//! GeoPackage and on PostGIS. Any answer that holds a household's or a
//! person's name, phone, address, id-bearing record, care level per point,
//! or a point at their exact location fails; so does any tile with a
//! household or person point, or a cell counting fewer than k households.

use std::collections::BTreeSet;

use prost::Message;
use serde_json::Value;
use wangge::api::route_specs;
use wangge::domain::Layer;
use wangge::tiles::mvt::Tile as Mvt;
use wangge::tiles::Source;

use crate::common::{partitioned_city, user_with_token, user_with_token_in, wangge, Server};

/// The policy's default k.
const K: u64 = 5;

/// What must never reach a counts-only caller.
#[derive(Default)]
struct Secrets {
    /// Names, phones and addresses of households and people.
    strings: BTreeSet<String>,
    /// Home locations of households and people.
    points: Vec<(f64, f64)>,
    households: Vec<(i64, f64, f64)>,
    people: Vec<i64>,
}

impl Secrets {
    /// Everything personal, read as the admin.
    fn read(server: &Server) -> Self {
        let mut out = Self::default();
        for layer in ["households", "people"] {
            let (status, v, _) = server.get_json(&format!("/api/layers/{layer}?limit=10000"));
            assert_eq!(status, 200, "{v}");
            let features = v["features"].as_array().unwrap();
            assert!(!features.is_empty(), "the city has {layer}");
            for f in features {
                let id = f["id"].as_i64().unwrap();
                let c = &f["geometry"]["coordinates"];
                let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
                out.points.push((x, y));
                if layer == "households" {
                    out.households.push((id, x, y));
                } else {
                    out.people.push(id);
                }
                for key in ["head_name", "phone", "address", "name"] {
                    if let Some(t) = f["properties"][key].as_str() {
                        if t.chars().count() >= 2 {
                            out.strings.insert(t.to_string());
                        }
                    }
                }
            }
        }
        out
    }

    fn is_home(&self, x: f64, y: f64) -> bool {
        self.points
            .iter()
            .any(|(a, b)| (a - x).abs() <= 1e-7 && (b - y).abs() <= 1e-7)
    }
}

/// One answer: status, content type, body.
struct Answer {
    status: u16,
    ctype: String,
    body: Vec<u8>,
}

fn call(s: &Server, method: &str, path: &str, token: Option<&str>, body: Option<&str>) -> Answer {
    let agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .new_agent();
    let url = s.url(path);
    let resp = if method == "GET" {
        let mut r = agent.get(&url).header("Accept-Encoding", "identity");
        if let Some(t) = token {
            r = r.header("Authorization", &format!("Bearer {t}"));
        }
        r.call()
    } else {
        let mut r = agent.post(&url).header("Content-Type", "application/json");
        if let Some(t) = token {
            r = r.header("Authorization", &format!("Bearer {t}"));
        }
        r.send(body.unwrap_or("{}"))
    }
    .expect("request sent");
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = resp.into_body().read_to_vec().unwrap_or_default();
    Answer {
        status,
        ctype,
        body,
    }
}

/// Walks a JSON answer; returns what is wrong with it (empty: nothing).
fn scan_json(v: &Value, secrets: &Secrets, at: &str, faults: &mut Vec<String>) {
    match v {
        Value::String(t) if secrets.strings.contains(t) => {
            faults.push(format!("{at}: personal value {t:?}"));
        }
        Value::Array(a) => {
            if a.len() == 2 {
                if let (Some(x), Some(y)) = (a[0].as_f64(), a[1].as_f64()) {
                    if secrets.is_home(x, y) {
                        faults.push(format!("{at}: a home's exact position [{x}, {y}]"));
                    }
                }
            }
            for (i, x) in a.iter().enumerate() {
                scan_json(x, secrets, &format!("{at}[{i}]"), faults);
            }
        }
        Value::Object(o) => {
            if let (Some(x), Some(y)) = (
                o.get("lon").and_then(Value::as_f64),
                o.get("lat").and_then(Value::as_f64),
            ) {
                if secrets.is_home(x, y) {
                    faults.push(format!("{at}: a home's exact lon/lat"));
                }
            }
            // A record of one household or person, whatever its fields say
            // (the OpenAPI document's schemas name such fields: no data).
            let schema = at.contains(".paths.") || at.contains(".components.");
            for key in ["head_name", "care", "flags", "skills", "reserve", "phone"] {
                if o.contains_key(key) && !schema {
                    faults.push(format!("{at}: a record with {key:?}: {v}"));
                }
            }
            if o.get("kind").and_then(Value::as_str) == Some("household") {
                faults.push(format!("{at}: a household hit: {v}"));
            }
            for (k, x) in o {
                // Search echoes what was typed; the hits are what it found.
                if at.contains("/api/search") && k == "query" && !at.contains(").") {
                    continue;
                }
                scan_json(x, secrets, &format!("{at}.{k}"), faults);
            }
        }
        _ => {}
    }
}

/// Decodes an MVT answer; faults for any household or person point, any
/// cell below k, any finding counting fewer than k, any personal value.
fn scan_tile(body: &[u8], secrets: &Secrets, at: &str, faults: &mut Vec<String>) {
    let t = Mvt::decode(body).unwrap_or_else(|e| panic!("{at}: not an MVT: {e}"));
    for l in &t.layers {
        if matches!(l.name.as_str(), "households" | "people") && !l.features.is_empty() {
            faults.push(format!("{at}: {} {} points", l.features.len(), l.name));
        }
        for v in &l.values {
            if let Some(s) = &v.string_value {
                if secrets.strings.contains(s) {
                    faults.push(format!("{at}: personal value {s:?} in {}", l.name));
                }
            }
        }
        for f in &l.features {
            for pair in f.tags.chunks(2) {
                let key = l.keys[pair[0] as usize].as_str();
                let value = &l.values[pair[1] as usize];
                let n = value
                    .uint_value
                    .or_else(|| value.int_value.and_then(|i| u64::try_from(i).ok()))
                    .or_else(|| value.double_value.map(|d| d as u64));
                let few = n.is_some_and(|n| n > 0 && n < K);
                let counted = match l.name.as_str() {
                    "household_cells" => key == "count",
                    "gaps" => key == "households" || key == "vulnerable",
                    _ => false,
                };
                if counted && (few || (l.name == "household_cells" && n == Some(0))) {
                    faults.push(format!("{at}: {} {key} = {n:?} < k", l.name));
                }
                if matches!(key, "care" | "id") && l.name.starts_with("household") {
                    faults.push(format!("{at}: {key} on a household feature"));
                }
            }
        }
    }
}

/// Checks one answer; returns its faults.
fn scan(a: &Answer, secrets: &Secrets, at: &str) -> Vec<String> {
    let mut faults = Vec::new();
    if a.status >= 500 {
        faults.push(format!("{at}: {}", a.status));
    }
    if a.ctype.contains("vnd.mapbox-vector-tile") {
        scan_tile(&a.body, secrets, at, &mut faults);
    } else if let Ok(v) = serde_json::from_slice::<Value>(&a.body) {
        scan_json(&v, secrets, at, &mut faults);
    } else {
        // CSV, HTML, XLSX or text: no phone number or address anywhere.
        let text = String::from_utf8_lossy(&a.body);
        for s in &secrets.strings {
            let digits = s.chars().all(|c| c.is_ascii_digit());
            if (digits || s.chars().any(|c| c.is_ascii_digit())) && text.contains(s.as_str()) {
                faults.push(format!("{at}: {s:?} in a {} answer", a.ctype));
            }
        }
    }
    faults
}

/// The z/x/y tile holding a lon/lat.
fn tile_of(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    (((lon + 180.0) / 360.0 * n) as u32, y as u32)
}

/// Concrete requests for one route of the table: (method, path, body).
fn requests(
    method: &'static str,
    pattern: &str,
    w: &Fill,
) -> Vec<(&'static str, String, Option<String>)> {
    let (hid, hx, hy) = w.household;
    let circle = format!(r#"{{"circle":{{"lon":{hx},"lat":{hy},"radius_m":600}}}}"#);
    let get = |p: String| (method, p, None);
    let layers: Vec<&str> = Layer::ALL.iter().map(|l| l.as_str()).collect();
    // Every OGC collection: the layers' and the plan's grids.
    let collections: Vec<&str> = wangge::ogc::Collection::all()
        .iter()
        .map(|c| c.id)
        .collect();
    match pattern {
        "/api/layers/{layer}" => layers
            .iter()
            .flat_map(|l| {
                [
                    get(format!("/api/layers/{l}?limit=10000")),
                    get(format!(
                        "/api/layers/{l}?bbox={},{},{},{}",
                        hx - 0.01,
                        hy - 0.01,
                        hx + 0.01,
                        hy + 0.01
                    )),
                ]
            })
            .collect(),
        "/api/layers/{layer}/{id}" => layers
            .iter()
            .flat_map(|l| {
                [
                    get(format!("/api/layers/{l}/{hid}")),
                    get(format!("/api/layers/{l}/{}", w.person)),
                ]
            })
            .collect(),
        "/ogc/collections/{collectionId}" => collections
            .iter()
            .map(|l| get(format!("/ogc/collections/{l}")))
            .collect(),
        "/ogc/collections/{collectionId}/items" => collections
            .iter()
            .map(|l| get(format!("/ogc/collections/{l}/items?limit=10000")))
            .collect(),
        "/ogc/collections/{collectionId}/items/{featureId}" => collections
            .iter()
            .flat_map(|l| {
                [
                    get(format!("/ogc/collections/{l}/items/{hid}")),
                    get(format!("/ogc/collections/{l}/items/{}", w.person)),
                ]
            })
            .collect(),
        "/api/search" => w
            .queries
            .iter()
            .map(|q| get(format!("/api/search?q={}&limit=100", enc(q))))
            .collect(),
        "/tiles/{source}" => Source::ALL
            .iter()
            .map(|s| get(format!("/tiles/{}", s.as_str())))
            .collect(),
        "/tiles/{source}/{z}/{x}/{y}" => {
            let mut out = Vec::new();
            for s in Source::ALL {
                for z in 10..=18u8 {
                    let mut seen = BTreeSet::new();
                    for &(_, x, y) in &w.sample {
                        let t = tile_of(z, x, y);
                        if seen.insert(t) {
                            out.push(get(format!(
                                "/tiles/{}/{z}/{}/{}.mvt",
                                s.as_str(),
                                t.0,
                                t.1
                            )));
                        }
                    }
                }
            }
            out
        }
        "/api/emergency/nearest" => vec![get(format!(
            "/api/emergency/nearest?lon={hx}&lat={hy}&k=50"
        ))],
        "/api/emergency/area" | "/api/emergency/plan" => {
            vec![(method, pattern.to_string(), Some(circle))]
        }
        _ => {
            let p = pattern
                .replace("{code}", &w.region)
                .replace("{id}", &w.plan.to_string())
                .replace("{other}", &w.plan.to_string())
                .replace("{household}", "1");
            assert!(
                !p.contains('{'),
                "route {pattern} needs a value in the anonymity test"
            );
            let body = (method == "POST").then(|| "{}".to_string());
            let mut out = vec![(method, p.clone(), body)];
            // Exports too.
            if p.ends_with("/coverage") || p.ends_with("/metrics") {
                out.push(get(format!("{p}?format=csv")));
            }
            out
        }
    }
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Real values to fill the route table's parameters with.
struct Fill {
    region: String,
    plan: i64,
    household: (i64, f64, f64),
    person: i64,
    /// Households whose tiles are asked for at every zoom.
    sample: Vec<(i64, f64, f64)>,
    /// What to search for: a household's address, name, phone, a street.
    queries: Vec<String>,
}

fn fill(s: &Server, secrets: &Secrets) -> Fill {
    let (_, regions, _) = s.get_json("/api/regions");
    let regions = regions["regions"].as_array().unwrap();
    let codes: BTreeSet<&str> = regions.iter().filter_map(|r| r["code"].as_str()).collect();
    // A leaf region (a community): no other region names it as parent.
    let leaf = regions
        .iter()
        .filter_map(|r| r["code"].as_str())
        .find(|c| !regions.iter().any(|r| r["parent"].as_str() == Some(c)))
        .unwrap()
        .to_string();
    assert!(codes.contains(leaf.as_str()));
    let (_, h, _) = s.get_json("/api/layers/households?limit=1");
    let addr = h["features"][0]["properties"]["address"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let head = h["features"][0]["properties"]["head_name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let phone = h["features"][0]["properties"]["phone"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let street: String = addr.chars().take_while(|c| !c.is_ascii_digit()).collect();
    let step = (secrets.households.len() / 12).max(1);
    Fill {
        region: leaf.clone(),
        plan: 1,
        household: secrets.households[0],
        person: secrets.people[0],
        sample: secrets.households.iter().step_by(step).copied().collect(),
        queries: [addr, head, phone, street, leaf[..6].to_string()]
            .into_iter()
            .filter(|q| !q.is_empty())
            .collect(),
    }
}

/// Calls every route as anonymous and as the viewer; panics listing every
/// leak found. Returns how many requests were checked.
fn every_route_counts_only(s: &Server, viewer: &str, secrets: &Secrets) -> usize {
    let w = fill(s, secrets);
    let mut faults = Vec::new();
    let mut checked = 0;
    let mut tiles_with_cells = 0;
    for spec in route_specs() {
        let reqs = requests(spec.method, spec.path, &w);
        assert!(
            !reqs.is_empty(),
            "{} {}: no request",
            spec.method,
            spec.path
        );
        for (method, path, body) in reqs {
            for (who, token) in [("anonymous", None), ("viewer", Some(viewer))] {
                let a = call(s, method, &path, token, body.as_deref());
                checked += 1;
                let at = format!("{who} {method} {path} ({})", a.status);
                faults.extend(scan(&a, secrets, &at));
                if a.ctype.contains("vnd.mapbox-vector-tile")
                    && path.starts_with("/tiles/households/")
                {
                    tiles_with_cells += 1;
                }
                // The refusal says why, with a stable code.
                let personal = path.contains("households") || path.contains("people");
                if a.status == 403 && personal && !path.starts_with("/tiles") {
                    let v: Value = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
                    if v["code"] != "counts_only" {
                        faults.push(format!("{at}: 403 without code counts_only: {v}"));
                    }
                }
                if personal && !path.starts_with("/tiles") && a.status == 200 {
                    faults.push(format!("{at}: answered 200"));
                }
            }
        }
    }
    assert!(
        faults.is_empty(),
        "{} leaks:\n{}",
        faults.len(),
        faults.join("\n")
    );
    // The public map still shows where households are, as counts.
    assert!(
        tiles_with_cells >= 10,
        "household cells were served: {tiles_with_cells}"
    );
    checked
}

/// Households and people layers are not listed; counts are.
fn lists_hide_individuals(s: &Server, viewer: &str) {
    for token in [None, Some(viewer)] {
        let a = call(s, "GET", "/api/layers", token, None);
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        let names: Vec<&str> = v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["name"].as_str())
            .collect();
        assert!(
            names.contains(&"regions")
                && !names.contains(&"households")
                && !names.contains(&"people"),
            "{names:?}"
        );
        let a = call(s, "GET", "/ogc/collections", token, None);
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        let ids: Vec<&str> = v["collections"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|l| l["id"].as_str())
            .collect();
        assert!(
            !ids.contains(&"households") && !ids.contains(&"people"),
            "{ids:?}"
        );
        // The plan's grids carry no personal field: listed and read as
        // `grids` is.
        assert!(ids.contains(&"plan_grids_current"), "{ids:?}");
        let path = "/ogc/collections/plan_grids_current/items?limit=1";
        let a = call(s, "GET", path, token, None);
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(a.status, 200, "{v}");
        assert!(v["numberMatched"].as_u64().unwrap() > 0, "{v}");
        let a = call(s, "GET", "/api/regions", token, None);
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert!(
            v["regions"][0]["counts"]["households"].as_u64().unwrap() > 0,
            "{v}"
        );
    }
}

fn run_on(s: &Server, viewer: &str) {
    let secrets = Secrets::read(s);
    assert!(secrets.strings.len() > 100, "the city has names and phones");
    lists_hide_individuals(s, viewer);
    let n = every_route_counts_only(s, viewer, &secrets);
    assert!(n > 500, "{n} requests checked");
}

#[test]
fn public_map_and_viewer_see_no_household_or_person_on_any_route_gpkg() {
    let (_dir, store) = partitioned_city(1500, 5);
    let viewer = user_with_token(&store, "anon-viewer", "viewer", "*");
    let s = Server::start(&store, &["--public-map", "*"]);
    run_on(&s, &viewer);
}

#[test]
fn public_map_and_viewer_see_no_household_or_person_on_any_route_postgis() {
    let Ok(base) = std::env::var("DATABASE_URL") else {
        eprintln!("DATABASE_URL is unset: the PostGIS half of the anonymity test is skipped");
        return;
    };
    let (dir, store) = partitioned_city(1500, 5);
    let a = store.to_str().unwrap();
    let admin = user_with_token(&store, "anon-admin", "admin", "*");
    let viewer = user_with_token_in(a, "anon-viewer", "viewer", "*");
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}schema=e2e_anon_{}_{nanos}", std::process::id());
    let (ok, out, err) = wangge(&["copy", "--from", a, "--to", &url, "--quiet"]);
    assert!(ok, "copy: {out}{err}");
    let s = Server::start_with(&["--database", &url, "--public-map", "*"], admin);
    run_on(&s, &viewer);
    drop(dir);
}
