//! `GET /api/search` over HTTP on a generated, partitioned city: a plan
//! grid's code anywhere in the city finds it with its extent; addresses
//! are found as each role sees them; scope holds; bad queries are refused.

use serde_json::Value;
use wangge::store::{gpkg::GeoPackage, Store};

use crate::common::{partitioned_city, user_with_token, Server};

/// Percent-encodes a query value (UTF-8 bytes outside the unreserved set).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hits(v: &Value) -> Vec<Value> {
    v["hits"].as_array().cloned().unwrap_or_default()
}

#[test]
fn search_finds_grids_anywhere_and_addresses_as_each_role_sees_them() {
    let (_dir, store) = partitioned_city(3000, 3);
    let d = GeoPackage::open(&store).unwrap().load().unwrap();
    let plan = d.plans.iter().max_by_key(|p| p.version.region).unwrap();
    let grid = plan.codes[2].last().unwrap().0.clone();
    let region = plan.version.region.to_string();
    let other = d
        .plans
        .iter()
        .map(|p| p.version.region.to_string())
        .find(|r| *r != region)
        .unwrap();
    let house = d
        .households
        .iter()
        .find(|h| {
            h.region == Some(plan.version.region) && h.address.chars().any(|c| c.is_ascii_digit())
        })
        .unwrap();

    let office = user_with_token(&store, "search-office", "office", "*");
    let planner = user_with_token(&store, "search-planner", "planner", "*");
    let viewer = user_with_token(&store, "search-viewer", "viewer", "*");
    let local = user_with_token(&store, "search-local", "office", &other);
    let server = Server::start(&store, &[]);
    let q = |text: &str| format!("/api/search?q={}", encode(text));

    // A level-3 grid of the plan, by its full code: one hit with the
    // extent of its blocks, inside its region.
    let (status, v, _) = server.get_as(&q(&grid), Some(&office));
    assert_eq!(status, 200, "{v}");
    let found = hits(&v);
    assert_eq!(found.len(), 1, "{v}");
    assert_eq!(found[0]["kind"], "grid");
    assert_eq!(found[0]["level"], 3);
    let b: Vec<f64> = found[0]["bbox"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!(b[0] < b[2] && b[1] < b[3], "{b:?}");

    // A full address: the office sees it whole and where it is.
    let (_, v, _) = server.get_as(&q(&house.address), Some(&office));
    let h: Vec<Value> = hits(&v)
        .into_iter()
        .filter(|h| h["kind"] == "household")
        .collect();
    assert!(
        h.iter().any(|x| x["label"] == house.address.as_str()),
        "{v}"
    );
    // A planner sees streets only: the house number finds nothing, the
    // street finds it masked.
    let (_, v, _) = server.get_as(&q(&house.address), Some(&planner));
    assert!(hits(&v).iter().all(|h| h["kind"] != "household"), "{v}");
    let street: String = house
        .address
        .chars()
        .take_while(|c| !c.is_ascii_digit())
        .collect();
    let (_, v, _) = server.get_as(&q(&street), Some(&planner));
    let h: Vec<Value> = hits(&v)
        .into_iter()
        .filter(|h| h["kind"] == "household")
        .collect();
    assert!(!h.is_empty(), "{v}");
    assert!(
        h.iter()
            .all(|x| x["label"].as_str().unwrap().ends_with('…')),
        "{v}"
    );
    // The public-map role finds no household.
    let (_, v, _) = server.get_as(&q(&street), Some(&viewer));
    assert!(hits(&v).iter().all(|h| h["kind"] != "household"), "{v}");

    // By the head's name or phone: the office (which sees both in full)
    // finds the household; a planner (names masked, no phone) and the
    // public-map role find none; the reads are audited.
    assert!(!house.head_name.is_empty() && !house.phone.is_empty());
    for text in [house.head_name.as_str(), house.phone.as_str()] {
        let (status, v, _) = server.get_as(&q(text), Some(&office));
        assert_eq!(status, 200, "{v}");
        assert!(
            hits(&v)
                .iter()
                .any(|h| h["kind"] == "household" && h["code"] == house.id.to_string()),
            "{text}: {v}"
        );
        for who in [&planner, &viewer] {
            let (_, v, _) = server.get_as(&q(text), Some(who));
            assert!(
                hits(&v).iter().all(|h| h["kind"] != "household"),
                "{text}: {v}"
            );
        }
    }

    // Scope: a user of another community does not find this grid.
    let (status, v, _) = server.get_as(&q(&grid), Some(&local));
    assert_eq!(status, 200);
    assert!(hits(&v).is_empty(), "{v}");

    // Bad queries say what is wrong; no token, no answer.
    let long = format!("/api/search?q={}", "a".repeat(101));
    for bad in [
        "/api/search",
        "/api/search?q=%20",
        "/api/search?q=a&limit=x",
        long.as_str(),
    ] {
        let (status, v, ctype) = server.get_as(bad, Some(&office));
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(
            ctype.starts_with("application/problem+json"),
            "{bad}: {ctype}"
        );
    }
    // Over the page limit: 422 naming the limit.
    let (status, v, _) = server.get_as("/api/search?q=a&limit=1000", Some(&office));
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        (v["limit"].as_str(), v["max"].as_u64()),
        (Some("search_results"), Some(100)),
        "{v}"
    );
    let (status, v, _) = server.get_as("/api/layers/roads?limit=10001", Some(&office));
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["limit"], "page_items", "{v}");
    let (status, _, _) = server.get_as(&q(&grid), None);
    assert_eq!(status, 401);
    // Full addresses shown are audited.
    let (_, audit, _) = server.get_json("/api/audit?limit=50");
    assert!(audit.to_string().contains("search-office"), "{audit}");
    assert!(
        audit.to_string().contains(&house.id.to_string()),
        "the household found by name or phone is in the audit: {audit}"
    );
}
