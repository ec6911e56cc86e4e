//! OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) documents over
//! the snapshot, so that GDAL, QGIS and OWSLib read the layers without
//! knowing this API. Every read goes through the same scoped, projected
//! snapshot queries as `/api/layers`; this module only shapes the answers
//! (links, extents, paging figures) the standard asks for. The plan
//! collections ([`plans`]) show evaluated plan versions instead of a
//! layer; the API picks and evaluates the versions, this module shapes
//! them the same way.

pub mod plans;

use std::fmt::Write as _;

use geo_types::Rect;
use serde_json::{json, Value};

use crate::access::projection::may_list;
use crate::access::Caller;
use crate::access::Role;
use crate::domain::{Layer, Level, Record};
use crate::io::feature::feature_for;
use crate::snapshot::{Page, Snapshot};
pub use plans::PlanSet;

/// Where the OGC API lives on the server.
pub const PREFIX: &str = "/ogc";
/// The conformance classes implemented.
pub const CONFORMANCE: [&str; 3] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
];
/// WGS-84 longitude/latitude: the only CRS of Part 1 and the store's own.
pub const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
/// Features per page when the client does not say (the standard's example).
pub const DEFAULT_LIMIT: usize = 10;
/// Most features one page may hold (the standard's example maximum).
pub const MAX_LIMIT: usize = 10_000;

const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";

/// One collection: a layer, or one geometry type of it, or a set of plan
/// versions. Water holds areas and lines; clients want one geometry type
/// per collection (a Shapefile holds one), so it is served as `water`
/// (areas) and `waterways` (lines). The plan collections carry the grids
/// layer as `layer`: who may list them, and how, is the grids' rule
/// (everyone in scope; no personal field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Collection {
    pub id: &'static str,
    pub layer: Layer,
    part: Part,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    Areas,
    Lines,
    Plans(PlanSet),
}

impl Collection {
    /// Every collection, in layer order.
    pub fn all() -> Vec<Collection> {
        Layer::ALL
            .iter()
            .flat_map(|&layer| match layer {
                Layer::Water => vec![
                    Collection {
                        id: "water",
                        layer,
                        part: Part::Areas,
                    },
                    Collection {
                        id: "waterways",
                        layer,
                        part: Part::Lines,
                    },
                ],
                _ => vec![Collection {
                    id: layer.as_str(),
                    layer,
                    part: Part::All,
                }],
            })
            .chain(
                [
                    ("plan_grids_current", PlanSet::Current),
                    ("plan_grids_published", PlanSet::Published),
                ]
                .map(|(id, set)| Collection {
                    id,
                    layer: Layer::Grids,
                    part: Part::Plans(set),
                }),
            )
            .collect()
    }

    /// The plan versions shown, for a plan collection; `None` for a layer's.
    pub fn plans(self) -> Option<PlanSet> {
        match self.part {
            Part::Plans(set) => Some(set),
            _ => None,
        }
    }

    /// True when `r` belongs here (its layer's, of this geometry type).
    fn holds(self, r: &Record) -> bool {
        use geo_types::Geometry::{LineString, MultiLineString};
        match (self.part, r) {
            (Part::All, _) => true,
            (part, Record::Water(w)) => {
                matches!(w.geometry, LineString(_) | MultiLineString(_)) == (part == Part::Lines)
            }
            _ => false,
        }
    }
}

/// A collection by id.
pub fn collection(id: &str) -> Option<Collection> {
    Collection::all().into_iter().find(|c| c.id == id)
}

fn title(c: Collection) -> (&'static str, &'static str) {
    match c.part {
        Part::Lines => return ("Waterways", "river, stream and canal centre lines"),
        Part::Plans(set) => return plans::title(set),
        Part::All | Part::Areas => {}
    }
    match c.layer {
        Layer::Regions => (
            "Regions",
            "administrative divisions (street, community) with their boundary",
        ),
        Layer::Atoms => ("Atoms", "the smallest land parcels grids are built from"),
        Layer::Households => (
            "Households",
            "households by care level; personal fields per the caller's role",
        ),
        Layer::People => (
            "People",
            "grid workers, building heads and volunteers; personal fields per the caller's role",
        ),
        Layer::Roads => ("Roads", "road, railway and river lines"),
        Layer::Buildings => ("Buildings", "building footprints with levels"),
        Layer::Water => ("Water", "water areas"),
        Layer::Grids => ("Grids", "imported grids of all three levels"),
    }
}

fn link(href: &str, rel: &str, kind: &str, title: &str) -> Value {
    json!({ "href": href, "rel": rel, "type": kind, "title": title })
}

/// The landing page; `base` is the absolute URL of [`PREFIX`].
pub fn landing(base: &str, service_desc: &str) -> Value {
    json!({
        "title": "wangge",
        "description": "Grid-based community governance layers as OGC API – Features; every answer is cut to the caller's region scope.",
        "links": [
            link(base, "self", JSON, "this document"),
            link(service_desc, "service-desc", "application/vnd.oai.openapi+json;version=3.0", "the API definition"),
            link(&format!("{base}/conformance"), "conformance", JSON, "conformance classes"),
            link(&format!("{base}/collections"), "data", JSON, "collections"),
        ],
    })
}

pub fn conformance() -> Value {
    json!({ "conformsTo": CONFORMANCE })
}

/// One collection as `caller` sees it: its extent covers only what their
/// scope holds (no extent when it holds nothing). A plan collection's
/// extent is the API's to give (`plan_extent`): it depends on versions
/// the snapshot alone does not know.
pub fn collection_doc(
    s: &Snapshot,
    coll: Collection,
    caller: &Caller,
    base: &str,
    plan_extent: &impl Fn(PlanSet) -> Option<Rect<f64>>,
) -> Value {
    let id = coll.id;
    let (title, description) = title(coll);
    let href = format!("{base}/collections/{id}");
    let mut doc = json!({
        "id": id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            link(&href, "self", JSON, "this collection"),
            link(&format!("{href}/items"), "items", GEOJSON, "the features"),
        ],
    });
    let extent = match coll.part {
        Part::All => s.layer_extent(coll.layer, &caller.scope),
        Part::Plans(set) => plan_extent(set),
        Part::Areas | Part::Lines => part_of(s, coll, caller, None).iter().fold(None, |e, r| {
            use geo::BoundingRect;
            let Record::Water(w) = r else { return e };
            match (e, w.geometry.bounding_rect()) {
                (None, b) => b,
                (Some(e), None) => Some(e),
                (Some(e), Some(b)) => Some(Rect::new(
                    (e.min().x.min(b.min().x), e.min().y.min(b.min().y)),
                    (e.max().x.max(b.max().x), e.max().y.max(b.max().y)),
                )),
            }
        }),
    };
    if let Some(r) = extent {
        doc["extent"] = json!({ "spatial": {
            "bbox": [[r.min().x, r.min().y, r.max().x, r.max().y]],
            "crs": CRS84,
        } });
    }
    doc
}

/// The collections `caller` may read: households and people only for
/// roles that see individuals (no extent of them either for the others).
pub fn collections_doc(
    s: &Snapshot,
    caller: &Caller,
    base: &str,
    plan_extent: &impl Fn(PlanSet) -> Option<Rect<f64>>,
) -> Value {
    json!({
        "links": [link(&format!("{base}/collections"), "self", JSON, "collections")],
        "collections": Collection::all()
            .into_iter()
            .filter(|c| may_list(caller.role, c.layer))
            .map(|c| collection_doc(s, c, caller, base, plan_extent))
            .collect::<Vec<_>>(),
    })
}

/// What an items request asks for, already checked.
#[derive(Debug, Clone)]
pub struct ItemsQuery {
    pub bbox: Option<Rect<f64>>,
    pub limit: usize,
    pub offset: usize,
    /// Echoed in paging links; features carry no time, so it filters nothing.
    pub datetime: Option<String>,
    /// Plan collections: the plan version asked for instead of the set's.
    pub version: Option<i64>,
    /// Plan collections: grids of this level only.
    pub level: Option<Level>,
}

impl ItemsQuery {
    fn href(&self, base: &str, coll: Collection, offset: usize) -> String {
        let mut h = format!(
            "{base}/collections/{}/items?limit={}&offset={offset}",
            coll.id, self.limit
        );
        if let Some(b) = self.bbox {
            let (lo, hi) = (b.min(), b.max());
            let _ = write!(h, "&bbox={},{},{},{}", lo.x, lo.y, hi.x, hi.y);
        }
        if let Some(d) = &self.datetime {
            h.push_str("&datetime=");
            h.push_str(&percent_encode(d));
        }
        if let Some(v) = self.version {
            let _ = write!(h, "&version={v}");
        }
        if let Some(l) = self.level {
            let _ = write!(h, "&level={}", l.get());
        }
        h
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A page of a collection as the caller may see it: the same scoped and
/// projected query as `/api/layers`.
/// Plan collections hold no records: the API pages them ([`plans::grids`]).
pub fn items(s: &Snapshot, coll: Collection, caller: &Caller, q: &ItemsQuery) -> Page<Record> {
    if coll.part == Part::All {
        return s.layer_page(coll.layer, q.bbox, caller, q.offset, q.limit);
    }
    // Water is a small base layer: its part is cut from the whole of it.
    let all = part_of(s, coll, caller, q.bbox);
    Page {
        matched: all.len(),
        offset: q.offset,
        items: all.into_iter().skip(q.offset).take(q.limit).collect(),
    }
}

/// Every feature of a part-of-a-layer collection the caller sees.
fn part_of(
    s: &Snapshot,
    coll: Collection,
    caller: &Caller,
    bbox: Option<Rect<f64>>,
) -> Vec<Record> {
    s.layer_page(coll.layer, bbox, caller, 0, usize::MAX)
        .items
        .into_iter()
        .filter(|r| coll.holds(r))
        .collect()
}

/// One feature of a collection; `None` when it is not there (or is of
/// the layer's other part).
pub fn item(s: &Snapshot, coll: Collection, id: i64, caller: &Caller) -> Option<Record> {
    s.layer_item(coll.layer, id, caller)
        .filter(|r| coll.holds(r))
}

/// The features of a page of records as `role` may see them.
pub fn features(page: &Page<Record>, role: Role) -> Result<Page<Value>, serde_json::Error> {
    Ok(Page {
        matched: page.matched,
        offset: page.offset,
        items: page
            .items
            .iter()
            .map(|r| serde_json::to_value(feature_for(r, role)))
            .collect::<Result<_, _>>()?,
    })
}

/// The GeoJSON FeatureCollection of a page of features, with `self`,
/// `next`, `prev` and `collection` links and the paging figures; `now` is
/// `timeStamp`.
pub fn items_doc(
    coll: Collection,
    page: Page<Value>,
    q: &ItemsQuery,
    base: &str,
    now: &str,
) -> Value {
    let features = page.items;
    let returned = features.len();
    let mut links = vec![
        link(&q.href(base, coll, q.offset), "self", GEOJSON, "this page"),
        link(
            &format!("{base}/collections/{}", coll.id),
            "collection",
            JSON,
            "the collection",
        ),
    ];
    if returned > 0 && q.offset + returned < page.matched {
        links.push(link(
            &q.href(base, coll, q.offset + returned),
            "next",
            GEOJSON,
            "next page",
        ));
    }
    if q.offset > 0 {
        links.push(link(
            &q.href(base, coll, q.offset.saturating_sub(q.limit)),
            "prev",
            GEOJSON,
            "previous page",
        ));
    }
    json!({
        "type": "FeatureCollection",
        "timeStamp": now,
        "numberMatched": page.matched,
        "numberReturned": returned,
        "links": links,
        "features": features,
    })
}

/// One record's feature as `role` may see it.
pub fn record_feature(record: &Record, role: Role) -> Result<Value, serde_json::Error> {
    serde_json::to_value(feature_for(record, role))
}

/// A feature with its `self` and `collection` links; `version` is the
/// plan version it was asked under (`?version=`), kept in its self link.
pub fn item_doc(c: Collection, mut f: Value, base: &str, version: Option<i64>) -> Value {
    let coll = format!("{base}/collections/{}", c.id);
    // A region's id is its code, a string: the link has it bare.
    let id = match &f["id"] {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    };
    let mut href = format!("{coll}/items/{id}");
    if let Some(v) = version {
        let _ = write!(href, "?version={v}");
    }
    f["links"] = json!([
        link(&href, "self", GEOJSON, "this feature"),
        link(&coll, "collection", JSON, "the collection"),
    ]);
    f
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn paging_links_keep_the_filter_and_stop_at_the_ends() {
        let q = ItemsQuery {
            bbox: Some(Rect::new((116.0, 39.0), (117.0, 40.0))),
            limit: 2,
            offset: 2,
            datetime: Some("2020-01-01T00:00:00Z/..".into()),
            version: None,
            level: None,
        };
        let page = Page {
            matched: 2,
            offset: 2,
            items: vec![],
        };
        let roads = collection("roads").unwrap();
        let doc = items_doc(roads, page, &q, "http://h/ogc", "now");
        let rels: Vec<_> = doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| (l["rel"].as_str().unwrap(), l["href"].as_str().unwrap()))
            .collect();
        let prev = rels.iter().find(|(r, _)| *r == "prev").unwrap().1;
        assert_eq!(
            prev,
            "http://h/ogc/collections/roads/items?limit=2&offset=0&bbox=116,39,117,40&datetime=2020-01-01T00%3A00%3A00Z%2F.."
        );
        // The last page: no next link past the data.
        assert!(rels.iter().all(|(r, _)| *r != "next"));
        assert_eq!(doc["numberMatched"], 2);
    }

    #[test]
    fn plan_collections_keep_version_and_level_in_their_links() {
        let current = collection("plan_grids_current").unwrap();
        assert_eq!(current.plans(), Some(PlanSet::Current));
        assert_eq!(current.layer, Layer::Grids, "listed by the grids' rule");
        assert_eq!(collection("grids").unwrap().plans(), None);
        let q = ItemsQuery {
            bbox: None,
            limit: 5,
            offset: 0,
            datetime: None,
            version: Some(42),
            level: Some(Level::TWO),
        };
        let page = Page {
            matched: 12,
            offset: 0,
            items: vec![json!({ "type": "Feature", "id": 42_200_003 }); 5],
        };
        let doc = items_doc(current, page, &q, "http://h/ogc", "now");
        let next = doc["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .unwrap();
        assert_eq!(
            next["href"],
            "http://h/ogc/collections/plan_grids_current/items?limit=5&offset=5&version=42&level=2"
        );
        let one = item_doc(
            current,
            json!({ "id": 42_200_003 }),
            "http://h/ogc",
            Some(42),
        );
        assert_eq!(
            one["links"][0]["href"],
            "http://h/ogc/collections/plan_grids_current/items/42200003?version=42"
        );
        let region = item_doc(
            collection("regions").unwrap(),
            json!({ "id": "610902001001" }),
            "http://h/ogc",
            None,
        );
        assert_eq!(
            region["links"][0]["href"],
            "http://h/ogc/collections/regions/items/610902001001"
        );
    }
}
