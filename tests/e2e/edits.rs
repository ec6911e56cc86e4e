//! Hand edits of a plan over real HTTP on a generated, partitioned city:
//! refusals with their geometry, the dry run's figures, saving with
//! `If-Match` (428 without, 412 on a stale version, nothing lost), undo
//! and redo restoring byte-identical versions, the diff, publishing, and
//! the map following at once (figures and tiles).

use geo::{InteriorPoint, Intersects};
use serde_json::Value;
use wangge::domain::Plan;
use wangge::store::gpkg::GeoPackage;
use wangge::store::Store;

use crate::common::{partitioned_city, wangge, Server};

/// POST JSON with optional extra headers: (status, ETag, body).
pub(crate) fn post(
    s: &Server,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Value) {
    let (status, etag, text) = s.post_with(path, Some(&s.token), headers, body, "etag");
    (
        status,
        etag,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

fn tile_of(z: u8, lon: f64, lat: f64) -> String {
    let n = f64::from(1u32 << z);
    let r = lat.to_radians();
    let y = (1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n;
    format!("{z}/{}/{}", ((lon + 180.0) / 360.0 * n) as u32, y as u32)
}

pub(crate) fn get_plan(store: &std::path::Path, id: i64) -> Plan {
    GeoPackage::open(store).unwrap().plan(id).unwrap().unwrap()
}

/// What a version holds, serialised: equal strings are equal bytes.
fn content(p: &Plan) -> String {
    serde_json::to_string(&(&p.atoms, &p.labels, &p.codes)).unwrap()
}

pub(crate) fn l3_code(p: &Plan, atom: usize) -> &str {
    p.codes[2][p.labels[atom].0[2] as usize].as_str()
}

fn households_of(detail: &Value, code: &str) -> u64 {
    detail["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == code)
        .map_or(0, |g| g["metrics"]["households"].as_u64().unwrap())
}

#[test]
fn edits_preview_save_conflict_undo_redo_diff_publish_and_the_map_follows() {
    let (_dir, store) = partitioned_city(4000, 9);
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    // The community with the most level-3 grids.
    let plan = d
        .plans
        .iter()
        .max_by_key(|p| p.codes[2].len())
        .unwrap()
        .clone();
    assert!(plan.codes[2].len() >= 3, "{:?}", plan.codes);
    let mut atoms: Vec<_> = d
        .atoms
        .iter()
        .filter(|a| a.region == plan.version.region)
        .collect();
    atoms.sort_by_key(|a| a.id);
    assert_eq!(atoms.len(), plan.atoms.len());
    // An atom x of grid B touching grid A (another level-3 grid), and an
    // atom far from every atom of A.
    let touching = |i: usize, j: usize| atoms[i].geometry.intersects(&atoms[j].geometry);
    let mut pick = None;
    'outer: for x in 0..atoms.len() {
        for y in 0..atoms.len() {
            if l3_code(&plan, x) != l3_code(&plan, y) && touching(x, y) {
                let b_size = (0..atoms.len())
                    .filter(|&k| l3_code(&plan, k) == l3_code(&plan, x))
                    .count();
                if b_size > 2 {
                    pick = Some((x, y));
                    break 'outer;
                }
            }
        }
    }
    let (x, y) = pick.expect("two touching grids");
    let (b, a) = (l3_code(&plan, x).to_string(), l3_code(&plan, y).to_string());
    let size = |k: usize| {
        (0..atoms.len())
            .filter(|&j| l3_code(&plan, j) == l3_code(&plan, k))
            .count()
    };
    let far = (0..atoms.len())
        .find(|&k| {
            l3_code(&plan, k) != a
                && size(k) > 1
                && (0..atoms.len()).all(|j| l3_code(&plan, j) != a || !touching(k, j))
        })
        .expect("an atom away from A");

    let s = Server::start(&store, &[]);
    let id = plan.version.id;
    let base = format!("/api/plans/{id}");
    let (status, detail, _) = s.get_json(&base);
    assert_eq!(status, 200, "{detail}");
    let (_, etag0, _) = s.get_with(&base, Some(&s.token), &[], "etag");
    assert_eq!(etag0, format!("\"plan-{id}\""));

    // The plan's atoms with their grids and neighbours, as edit tools see
    // them: x is in B and lists y among its neighbours.
    let (status, av, ctype) = s.get_json(&format!("{base}/atoms"));
    assert_eq!((status, ctype.as_str()), (200, "application/geo+json"));
    let fx = av["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["atom"] == atoms[x].id)
        .unwrap();
    assert_eq!(fx["properties"]["level3"], b.as_str());
    assert!(fx["properties"]["neighbours"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!(atoms[y].id)));
    assert_eq!(av["features"].as_array().unwrap().len(), atoms.len());

    // Refusals name the rule and draw the atoms: an atom that would sit
    // alone in A, and a grid emptied.
    let far_id = atoms[far].id;
    let body = format!(r#"{{"edit":{{"op":"reassign","atoms":[{far_id}],"to":"{a}"}}}}"#);
    let (status, _, v) = post(&s, &format!("{base}/preview"), &[], &body);
    assert_eq!(status, 422, "{v}");
    // A would be in two pieces (or the grid it leaves, if far held it
    // together): either way the pieces cut off are drawn.
    assert_eq!(v["rule"], "one_piece", "{v}");
    assert!(!v["atoms"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(v["geometry"]["type"], "MultiPolygon");
    assert!(v["detail"].as_str().unwrap().contains("pieces"), "{v}");
    let all_b: Vec<u32> = (0..atoms.len())
        .filter(|&k| l3_code(&plan, k) == b)
        .map(|k| atoms[k].id)
        .collect();
    let body = format!(r#"{{"edit":{{"op":"reassign","atoms":{all_b:?},"to":"{a}"}}}}"#);
    let (status, _, v) = post(&s, &format!("{base}/preview"), &[], &body);
    assert_eq!(status, 422, "{v}");
    // A locked grid is untouched.
    let body = format!(
        r#"{{"edit":{{"op":"reassign","atoms":[{}],"to":"{a}"}},"locks":["{b}"]}}"#,
        atoms[x].id
    );
    let (status, _, v) = post(&s, &format!("{base}/preview"), &[], &body);
    assert_eq!((status, v["rule"].as_str()), (422, Some("locked")), "{v}");
    // Bad input: unknown grid, unknown op, no atom picked.
    for bad in [
        r#"{"edit":{"op":"reassign","atoms":[1],"to":"999"}}"#.to_string(),
        r#"{"edit":{"op":"paint"}}"#.to_string(),
        format!(r#"{{"edit":{{"op":"reassign","to":"{a}"}}}}"#),
        // A split needs a LineString of [lon, lat] in degrees, on a grid.
        format!(r#"{{"edit":{{"op":"split","grid":"{a}","line":{{"type":"Point","coordinates":[109.0,32.6]}}}}}}"#),
        format!(r#"{{"edit":{{"op":"split","grid":"{a}","line":{{"type":"LineString","coordinates":[[3000000,32.6],[3000001,32.6]]}}}}}}"#),
        r#"{"edit":{"op":"split","grid":"nope","line":{"type":"LineString","coordinates":[[109.0,32.6],[109.1,32.6]]}}}"#.to_string(),
        r#"{"edit":{"op":"restore","version":999999}}"#.to_string(),
        "not json".to_string(),
    ] {
        let (status, _, v) = post(&s, &format!("{base}/preview"), &[], &bad);
        assert!(
            status == 400 || status == 404 || status == 422,
            "{bad}: {status} {v}"
        );
        assert!(v["detail"].is_string(), "{v}");
    }

    // The dry run: x drawn around (a lasso of its inside point), the
    // figures of A and B before and after, nothing saved.
    let p = atoms[x].geometry.interior_point().unwrap();
    let (lx, ly) = (p.x(), p.y());
    let e = 1e-6;
    let lasso = format!(
        r#"{{"type":"Polygon","coordinates":[[[{},{}],[{},{}],[{},{}],[{},{}],[{},{}]]]}}"#,
        lx - e,
        ly - e,
        lx + e,
        ly - e,
        lx + e,
        ly + e,
        lx - e,
        ly + e,
        lx - e,
        ly - e
    );
    let edit = format!(r#"{{"edit":{{"op":"reassign","within":{lasso},"to":"{a}"}}}}"#);
    let (status, _, v) = post(&s, &format!("{base}/preview"), &[], &edit);
    assert_eq!(status, 200, "{v}");
    let moved = v["households_moved"].as_u64().unwrap();
    assert_eq!(v["atoms_moved"], 1, "{v}");
    let row = |code: &str| {
        v["grids"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["code"] == code && g["level"] == 3)
            .unwrap_or_else(|| panic!("{code} in {v}"))
            .clone()
    };
    let (ra, rb) = (row(&a), row(&b));
    assert_eq!(
        ra["after"]["households"].as_u64().unwrap(),
        ra["before"]["households"].as_u64().unwrap() + moved
    );
    assert_eq!(
        rb["after"]["households"].as_u64().unwrap() + moved,
        rb["before"]["households"].as_u64().unwrap()
    );
    assert_eq!(
        ra["before"]["households"].as_u64().unwrap(),
        households_of(&detail, &a)
    );
    assert!(ra["after"]["polsby_popper"].as_f64().unwrap() > 0.0);
    assert_eq!(ra["geometry"]["type"], "MultiPolygon");
    assert_eq!(
        GeoPackage::open(&store)
            .unwrap()
            .plan_versions(plan.version.region)
            .unwrap()
            .len(),
        1,
        "a dry run saves nothing"
    );

    // Staff by role before and after: a merge gives the kept grid the
    // merged grid's staff (or is refused across parents).
    assert!(
        ra["staff_before"].is_object() && ra["staff_after"].is_object(),
        "{ra}"
    );
    let merge = format!(r#"{{"edit":{{"op":"merge","keep":"{a}","gone":"{b}"}}}}"#);
    let (status, _, mv) = post(&s, &format!("{base}/preview"), &[], &merge);
    let same_parent = plan.labels[x].0[1] == plan.labels[y].0[1];
    if same_parent {
        assert_eq!(status, 200, "{mv}");
        let keep = mv["grids"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["code"] == a.as_str())
            .unwrap();
        let total = |v: &Value| -> u64 {
            v.as_object()
                .unwrap()
                .values()
                .map(|n| n.as_u64().unwrap())
                .sum()
        };
        assert_eq!(
            total(&keep["staff_after"]),
            total(&ra["staff_before"]) + total(&rb["staff_before"]),
            "{keep}"
        );
        assert_eq!(mv["retired"], serde_json::json!([b]));
    } else {
        assert_eq!(
            (status, mv["rule"].as_str()),
            (422, Some("same_parent")),
            "{mv}"
        );
    }

    // Tiles before the save: over x, and over another region.
    let at_x = tile_of(16, lx, ly);
    let other = d
        .households
        .iter()
        .find(|h| h.region.is_some() && h.region != Some(plan.version.region))
        .unwrap();
    let away = tile_of(16, other.location.x(), other.location.y());
    let tile = |t: &str| {
        s.get_with(
            &format!("/tiles/grids/{t}.mvt"),
            Some(&s.token),
            &[],
            "etag",
        )
    };
    let (st_x, tag_x, _) = tile(&at_x);
    let (st_away, tag_away, _) = tile(&away);
    assert_eq!((st_x, st_away), (200, 200));

    // Coverage of the community analyses its plan's grids (as the map
    // shows them): A's households there, before the save.
    let region = plan.version.region;
    let coverage_of = |code: &str| -> u64 {
        let (status, v, _) = s.get_json(&format!("/api/regions/{region}/coverage"));
        assert_eq!(status, 200, "{v}");
        v["grids"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["code"] == code)
            .map_or(0, |g| {
                g["households"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_u64().unwrap())
                    .sum()
            })
    };
    let covered_a = coverage_of(&a);
    assert_eq!(covered_a, households_of(&detail, &a));

    // Saving needs If-Match (428), names the version (412 otherwise).
    let (status, _, v) = post(&s, &format!("{base}/edits"), &[], &edit);
    assert_eq!(status, 428, "{v}");
    let (status, _, v) = post(
        &s,
        &format!("{base}/edits"),
        &[("If-Match", "\"plan-0\"")],
        &edit,
    );
    assert_eq!(status, 412, "{v}");
    let (status, etag1, v) = post(&s, &format!("{base}/edits"), &[("If-Match", &etag0)], &edit);
    assert_eq!(status, 201, "{v}");
    let v1 = v["version"]["id"].as_i64().unwrap();
    assert_eq!(etag1, format!("\"plan-{v1}\""));
    assert_eq!(v["version"]["parent"], id);
    // Who saved it: the test's admin.
    assert!(
        v["version"]["author"]
            .as_str()
            .unwrap()
            .starts_with("e2e-admin-"),
        "{v}"
    );

    // The map follows at once: figures of the new version, the tile over x
    // changed, the one over another region kept its ETag.
    let (_, d1, _) = s.get_json(&format!("/api/plans/{v1}"));
    assert_eq!(households_of(&d1, &a), households_of(&detail, &a) + moved);
    assert_eq!(d1["newest"], v1);
    let (_, tag_x2, _) = tile(&at_x);
    let (_, tag_away2, _) = tile(&away);
    assert_ne!(tag_x, tag_x2, "the tile over the moved atom is cut again");
    assert_eq!(
        coverage_of(&a),
        covered_a + moved,
        "coverage follows the save"
    );
    assert_eq!(
        tag_away, tag_away2,
        "a tile the edit does not touch keeps its ETag"
    );

    // A save on the old version: 412 with what changed since and the
    // edit tried; both versions are still there.
    let (status, _, v) = post(&s, &format!("{base}/edits"), &[("If-Match", &etag0)], &edit);
    assert_eq!(status, 412, "{v}");
    assert_eq!(v["newest"], v1);
    assert_eq!(v["etag"], etag1.as_str());
    assert_eq!(v["since"]["atoms_moved"], 1, "{v}");
    assert_eq!(v["yours"]["op"], "reassign");
    let gp = GeoPackage::open(&store).unwrap();
    assert_eq!(gp.plan_versions(plan.version.region).unwrap().len(), 2);

    // The diff, as figures and as GeoJSON.
    let (status, dv, _) = s.get_json(&format!("{base}/diff/{v1}"));
    assert_eq!(status, 200, "{dv}");
    assert_eq!(dv["atoms_moved"], 1);
    assert_eq!(dv["households_moved"].as_u64().unwrap(), moved);
    let changed: Vec<&str> = dv["levels"][2]["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        changed.contains(&a.as_str()) && changed.contains(&b.as_str()),
        "{dv}"
    );
    let (status, gj, ctype) = s.get_json(&format!("{base}/diff/{v1}?format=geojson"));
    assert_eq!((status, ctype.as_str()), (200, "application/geo+json"));
    assert_eq!(gj["features"][0]["properties"]["from"], b.as_str());
    assert_eq!(gj["features"][0]["properties"]["to"], a.as_str());

    // Undo (restore the version before) and redo (restore the one undone):
    // byte-identical to what they restore.
    let restore = |to: i64| format!(r#"{{"edit":{{"op":"restore","version":{to}}}}}"#);
    let (status, etag2, v) = post(
        &s,
        &format!("/api/plans/{v1}/edits"),
        &[("If-Match", &etag1)],
        &restore(id),
    );
    assert_eq!(status, 201, "{v}");
    let v2 = v["version"]["id"].as_i64().unwrap();
    let (status, _, v) = post(
        &s,
        &format!("/api/plans/{v2}/edits"),
        &[("If-Match", &etag2)],
        &restore(v1),
    );
    assert_eq!(status, 201, "{v}");
    let v3 = v["version"]["id"].as_i64().unwrap();
    let gp = GeoPackage::open(&store).unwrap();
    let get = |i: i64| gp.plan(i).unwrap().unwrap();
    assert_eq!(content(&get(v2)), content(&get(id)), "undo");
    assert_eq!(content(&get(v3)), content(&get(v1)), "redo");
    let (_, d2, _) = s.get_json(&format!("/api/plans/{v2}"));
    assert_eq!(households_of(&d2, &a), households_of(&detail, &a));

    // Publish: every grid keeps its code (nothing was published before),
    // the version is marked published and becomes the newest.
    let (status, etag4, v) = post(
        &s,
        &format!("/api/plans/{v3}/publish"),
        &[("If-Match", &format!("\"plan-{v3}\""))],
        r#"{"message":"first publication"}"#,
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["version"]["published"], true);
    assert_eq!(v["renamed"], serde_json::json!([]));
    let v4 = v["version"]["id"].as_i64().unwrap();
    assert_eq!(etag4, format!("\"plan-{v4}\""));
    assert_eq!(get(v4).codes, get(v3).codes);
    // Publishing an old version is a conflict too.
    let (status, _, v) = post(
        &s,
        &format!("/api/plans/{v3}/publish"),
        &[("If-Match", &format!("\"plan-{v3}\""))],
        "{}",
    );
    assert_eq!(status, 412, "{v}");

    // Split A along a line through its middle: the atoms the line crosses
    // are cut (the atoms layer shows the pieces, not what they were cut
    // from), households are placed again, a new grid appears; undo brings
    // the plan and the atoms shown back.
    let atoms_shown = |s: &Server| -> u64 {
        let (_, v, _) = s.get_json("/api/layers");
        v["layers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == "atoms")
            .unwrap()["features"]
            .as_u64()
            .unwrap()
    };
    let atoms_before = atoms_shown(&s);
    let (_, grids4, _) = s.get_json(&format!("/api/plans/{v4}/grids?level=3"));
    let shape_a = grids4["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["code"] == a.as_str())
        .unwrap()["geometry"]
        .clone();
    let shape_a: geo_types::Geometry<f64> = serde_json::from_value::<geojson::Geometry>(shape_a)
        .unwrap()
        .try_into()
        .unwrap();
    let r = geo::BoundingRect::bounding_rect(&shape_a).unwrap();
    let mut split_body = None;
    for f in [0.5, 0.4, 0.6, 0.3, 0.7] {
        let y = r.min().y + f * r.height();
        let body = format!(
            r#"{{"edit":{{"op":"split","grid":"{a}","line":{{"type":"LineString","coordinates":[[{},{y}],[{},{y}]]}}}}}}"#,
            r.min().x - 0.001,
            r.max().x + 0.001
        );
        let (status, _, v) = post(&s, &format!("/api/plans/{v4}/preview"), &[], &body);
        if status == 200 {
            split_body = Some((body, v));
            break;
        }
        assert_eq!(status, 422, "{v}");
        assert_eq!(v["rule"], "split", "{v}");
    }
    let (split_body, pv) = split_body.expect("a line that cuts A in two");
    let new_grids: Vec<&Value> = pv["grids"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["before"].is_null())
        .collect();
    assert_eq!(new_grids.len(), 1, "{pv}");
    let a_after = pv["grids"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["code"] == a.as_str() && g["level"] == 3)
        .unwrap();
    assert_eq!(
        a_after["after"]["households"].as_u64().unwrap()
            + new_grids[0]["after"]["households"].as_u64().unwrap(),
        a_after["before"]["households"].as_u64().unwrap(),
        "{pv}"
    );
    let (status, etag5, v) = post(
        &s,
        &format!("/api/plans/{v4}/edits"),
        &[("If-Match", &format!("\"plan-{v4}\""))],
        &split_body,
    );
    assert_eq!(status, 201, "{v}");
    let v5 = v["version"]["id"].as_i64().unwrap();
    let (_, d5, _) = s.get_json(&format!("/api/plans/{v5}"));
    assert_eq!(d5["households"], detail["households"]);
    assert_eq!(
        d5["grids"].as_array().unwrap().len(),
        detail["grids"].as_array().unwrap().len() + 1
    );
    for l in d5["levels"].as_array().unwrap() {
        assert_eq!(
            (l["split"].as_u64(), l["nest"].as_u64()),
            (Some(0), Some(0)),
            "{l}"
        );
    }
    let cut_into = get_plan(&store, v5).atoms.len() - get_plan(&store, v4).atoms.len();
    assert!(cut_into > 0);
    assert_eq!(atoms_shown(&s), atoms_before + cut_into as u64);
    let (status, _, v) = post(
        &s,
        &format!("/api/plans/{v5}/edits"),
        &[("If-Match", &etag5)],
        &restore(v4),
    );
    assert_eq!(status, 201, "{v}");
    let v6 = v["version"]["id"].as_i64().unwrap();
    assert_eq!(
        content(&get_plan(&store, v6)),
        content(&get_plan(&store, v4))
    );
    assert_eq!(atoms_shown(&s), atoms_before);
    let (_, d6, _) = s.get_json(&format!("/api/plans/{v6}"));
    assert_eq!(households_of(&d6, &a), households_of(&d1, &a));

    // Re-solve the rest of A's level-1 grid with A locked: A is not among
    // the grids that change; a level-3 grid has nothing below it.
    let top = &plan.codes[0][plan.labels[y].0[0] as usize];
    let body = format!(r#"{{"edit":{{"op":"resolve","parent":"{top}"}},"locks":["{a}"]}}"#);
    let (status, _, v) = post(&s, &format!("/api/plans/{v6}/preview"), &[], &body);
    assert_eq!(status, 200, "{v}");
    assert!(
        v["grids"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["code"] != a.as_str()),
        "{v}"
    );
    let body = format!(r#"{{"edit":{{"op":"resolve","parent":"{a}"}}}}"#);
    let (status, _, v) = post(&s, &format!("/api/plans/{v6}/preview"), &[], &body);
    assert_eq!(status, 400, "{v}");

    // An edit of an older version saved on top of the newest (the viewer
    // undoes by pointing at an older version; an edit made there branches
    // from it): `If-Match` must name the newest, anything else is a 412.
    let (status, _, v) = post(&s, &format!("{base}/edits"), &[("If-Match", &etag1)], &edit);
    assert_eq!(status, 412, "{v}");
    assert_eq!(v["newest"], v6, "{v}");
    let (status, etag7, v) = post(
        &s,
        &format!("{base}/edits"),
        &[("If-Match", &format!("\"plan-{v6}\""))],
        &edit,
    );
    assert_eq!(status, 201, "{v}");
    let v7 = v["version"]["id"].as_i64().unwrap();
    assert_eq!(etag7, format!("\"plan-{v7}\""));
    assert_eq!(
        v["version"]["parent"], id,
        "derived from the version edited"
    );
    assert_eq!(
        content(&get_plan(&store, v7)),
        content(&get_plan(&store, v1)),
        "the edit applied to the version edited"
    );
    drop(s);

    // The command line over the same store.
    let st = store.to_str().unwrap();
    let (ok, out, err) = wangge(&[
        "plan",
        "list",
        "--store",
        st,
        "--region",
        &plan.version.region.to_string(),
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().count(), 1 + 8, "{out}");
    assert!(
        out.contains("published plan") || out.contains("first publication"),
        "{out}"
    );
    let (ok, out, err) = wangge(&[
        "plan",
        "diff",
        &id.to_string(),
        &v1.to_string(),
        "--store",
        st,
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let dj: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dj["atoms_moved"], 1);
    assert_eq!(dj["households_moved"].as_u64().unwrap(), moved);
    // As GeoJSON: the moved atom by its stored id, from B to A.
    let (ok, out, err) = wangge(&[
        "plan",
        "diff",
        &id.to_string(),
        &v1.to_string(),
        "--store",
        st,
        "--format",
        "geojson",
    ]);
    assert!(ok, "{err}");
    let gj: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(gj["features"][0]["properties"]["atom"], atoms[x].id);
    assert_eq!(gj["features"][0]["properties"]["from"], b.as_str());
    let (ok, out, err) = wangge(&["plan", "show", &v4.to_string(), "--store", st]);
    assert!(ok && out.contains(&a), "{out}{err}");
    let dir = tempfile::tempdir().unwrap();
    for (format, file) in [
        ("geojson", "g.geojson"),
        ("gpkg", "g.gpkg"),
        ("csv", "h.csv"),
    ] {
        let path = dir.path().join(file);
        let (ok, out, err) = wangge(&[
            "plan",
            "export",
            &v1.to_string(),
            "--store",
            st,
            "--format",
            format,
            "--out",
            path.to_str().unwrap(),
        ]);
        assert!(ok, "{format}: {out}{err}");
        assert!(path.exists());
    }
    // Bad input on the command line: a clear error, nothing written.
    let bad = dir.path().join("bad.out");
    let (ok, _, err) = wangge(&[
        "plan",
        "export",
        &v1.to_string(),
        "--store",
        st,
        "--format",
        "xml",
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("--format xml"), "{err}");
    assert!(!bad.exists());
    let (ok, _, err) = wangge(&["plan", "show", "999999", "--store", st]);
    assert!(!ok && err.contains("no plan 999999"), "{err}");
    let (ok, _, err) = wangge(&[
        "plan",
        "export",
        &v1.to_string(),
        "--store",
        st,
        "--format",
        "gpkg",
        "--out",
        dir.path().join("g.gpkg").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("exists already"), "{err}");

    // GDAL reads the GeoPackage's grids: one feature per grid of the plan.
    let out = std::process::Command::new("ogrinfo")
        .args(["-so", "-al"])
        .arg(dir.path().join("g.gpkg"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let grids = plan.codes.iter().map(Vec::len).sum::<usize>();
    assert!(text.contains(&format!("Feature Count: {grids}")), "{text}");
    // The CSV puts every household of the region in exactly one grid per
    // level, x's households in A.
    let csv = std::fs::read_to_string(dir.path().join("h.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().skip(1).collect();
    let in_region = d
        .households
        .iter()
        .filter(|h| h.region == Some(plan.version.region))
        .count();
    assert_eq!(rows.len(), in_region);
    assert!(
        rows.iter()
            .all(|r| r.split(',').filter(|c| !c.is_empty()).count() == 5),
        "{csv}"
    );
    let in_a = rows
        .iter()
        .filter(|r| r.ends_with(&format!(",{a}")))
        .count() as u64;
    assert_eq!(in_a, households_of(&d1, &a));
    // Publishing from the command line refuses a version that is not the
    // newest, and names the newest.
    let (ok, _, err) = wangge(&["plan", "publish", &v3.to_string(), "--store", st]);
    assert!(!ok && err.contains(&v7.to_string()), "{err}");
}
