//! Coverage over real HTTP and on the command line, on a generated city
//! whose gaps were planted: every format, roles and scope.

use serde_json::Value;

use crate::common::{generated, user_with_token, wangge, Server};

fn city(dir: &std::path::Path) -> std::path::PathBuf {
    generated(dir, "20000", "4")
}

#[test]
fn coverage_of_a_street_over_http_in_every_format_for_the_roles_that_may_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let office = user_with_token(&store, "jiedao", "office", "610902001");
    let other = user_with_token(&store, "other", "office", "610902002");
    let viewer = user_with_token(&store, "kan", "viewer", "*");
    let server = Server::start(&store, &[]);

    let (status, v, _) = server.get_as("/api/regions/610902001/coverage?suggest=3", Some(&office));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["region"]["code"], "610902001000");
    let children = v["children"].as_array().unwrap();
    assert_eq!(children.len(), 9, "nine communities in a street");
    assert!(v["grids"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["region"].as_str().unwrap().starts_with("610902001")));
    let kinds: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    for k in ["unstaffed", "unreached", "unreached_cell"] {
        assert!(kinds.contains(&k), "{k} in {kinds:?}");
    }
    let reached = v["region"]["reached"].as_u64().unwrap();
    let vulnerable = v["region"]["vulnerable"].as_u64().unwrap();
    assert!(reached < vulnerable && vulnerable > 0);
    assert!(
        v["region"]["reached_by_road"].as_u64().is_some(),
        "roads are loaded"
    );
    let s = v["suggestions"].as_array().unwrap();
    assert_eq!(s.len(), 3);
    assert!(s[0]["gain"].as_u64().unwrap() >= s[1]["gain"].as_u64().unwrap());

    let (status, ctype, csv) =
        server.get_bytes("/api/regions/610902001/coverage?format=csv", Some(&office));
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/csv"));
    let text = String::from_utf8(csv).unwrap();
    assert!(text.starts_with("\u{feff}区划编码,名称"), "{}", &text[..40]);
    assert!(text.contains("\n网格编码,网格名称,层级"));

    let (status, ctype, xlsx) =
        server.get_bytes("/api/regions/610902001/coverage?format=xlsx", Some(&office));
    assert_eq!(status, 200);
    assert!(ctype.contains("spreadsheetml"));
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("a real workbook");
    use calamine::Reader;
    assert_eq!(book.sheet_names(), vec!["区划", "网格", "问题"]);
    let grids = book.worksheet_range("网格").unwrap();
    assert_eq!(grids.height() - 1, v["grids"].as_array().unwrap().len());

    let (status, gj, ctype) = server.get_as("/api/regions/610902001/gaps?by=line", Some(&office));
    assert_eq!(status, 200);
    assert_eq!(ctype, "application/geo+json");
    let features = gj["features"].as_array().unwrap();
    assert!(!features.is_empty());
    assert!(features.iter().all(|f| f["properties"]["region"]
        .as_str()
        .unwrap()
        .starts_with("610902001")
        && f["geometry"]["type"].is_string()));
    assert!(features
        .iter()
        .all(|f| f["properties"].get("name").is_none()));

    // Out of scope looks like absent; a viewer may not; nonsense is a 400.
    assert_eq!(
        server
            .get_as("/api/regions/610902001/coverage", Some(&other))
            .0,
        404
    );
    assert_eq!(
        server
            .get_as("/api/regions/610902001/coverage", Some(&viewer))
            .0,
        403
    );
    assert_eq!(
        server
            .get_as("/api/regions/61090200x/coverage", Some(&office))
            .0,
        400
    );
    assert_eq!(
        server
            .get_as("/api/regions/610902001/coverage?format=pdf", Some(&office))
            .0,
        400
    );
    assert_eq!(
        server
            .get_as("/api/regions/610902001/coverage?by=air", Some(&office))
            .0,
        400
    );
}

#[test]
fn coverage_on_the_command_line_as_a_table_json_and_csv() {
    let dir = tempfile::tempdir().unwrap();
    let store = city(dir.path());
    let s = store.to_str().unwrap();
    let (ok, out, err) = wangge(&["coverage", "--store", s]);
    assert!(ok, "{err}");
    assert!(
        out.contains("覆盖率%") && out.contains("未覆盖区域"),
        "{out}"
    );
    let (ok, out, err) = wangge(&[
        "coverage",
        "--store",
        s,
        "--region",
        "610902001001",
        "--format",
        "json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["region"]["code"], "610902001001");
    let (ok, out, _) = wangge(&["coverage", "--store", s, "--format", "csv"]);
    assert!(ok && out.starts_with('\u{feff}'));
    let (ok, _, err) = wangge(&["coverage", "--store", s, "--region", "999999"]);
    assert!(!ok && err.contains("no region 999999"), "{err}");
    let (ok, _, err) = wangge(&["coverage", "--store", s, "--format", "xlsx"]);
    assert!(!ok && err.contains("--out"), "{err}");
}
