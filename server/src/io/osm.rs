//! OpenStreetMap PBF extracts: roads with their class, railways, rivers and
//! water areas, buildings with levels and height, and administrative
//! boundaries that carry a statistical division code.
//!
//! An extract is cut at its edge, so ways whose nodes are missing and
//! multipolygons that cannot be closed are passed over (and counted), not
//! refused; a closed footprint that is invalid is a bad record like any other.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use geo_types::Coord;
use osmpbf::{Element, ElementReader, RelMemberType};

use super::build::{build, Field, Fields, RawGeometry};
use super::{file_error, ImportOptions, IoError, Location, RecordError, RecordStream};
use crate::domain::RegionCode;
use crate::domain::{Layer, Record};

type Tags = Vec<(String, String)>;

fn tag<'a>(tags: &'a Tags, k: &str) -> Option<&'a str> {
    tags.iter()
        .find(|(key, _)| key == k)
        .map(|(_, v)| v.as_str())
}

struct Way {
    id: i64,
    refs: Vec<i64>,
    tags: Tags,
}

struct Relation {
    id: i64,
    tags: Tags,
    /// (way id, role)
    ways: Vec<(i64, String)>,
}

/// Field values for [`build`], set per element.
#[derive(Default)]
struct OsmFields(HashMap<Field, String>);

impl Fields for OsmFields {
    fn get(&self, f: Field) -> Option<&str> {
        self.0.get(&f).map(String::as_str)
    }
}

/// What one element becomes.
fn classify(tags: &Tags, closed: bool) -> Option<(Layer, OsmFields)> {
    let mut f = OsmFields::default();
    if let Some(n) = tag(tags, "name:zh").or_else(|| tag(tags, "name")) {
        f.0.insert(Field::Name, n.to_string());
    }
    if let Some(b) = tag(tags, "building").filter(|b| *b != "no") {
        if !closed {
            return None;
        }
        let name = tag(tags, "name:zh").or_else(|| tag(tags, "name"));
        f.0.insert(
            Field::Kind,
            super::tags::building_kind(tags.as_slice(), Some(b), name),
        );
        if let Some(l) = tag(tags, "building:levels").and_then(number) {
            f.0.insert(Field::Levels, l);
        }
        if let Some(h) = tag(tags, "height").and_then(number) {
            f.0.insert(Field::Height, h);
        }
        return Some((Layer::Buildings, f));
    }
    if let Some(h) = tag(tags, "highway") {
        if crate::domain::RoadClass::parse(h).is_none() || tag(tags, "area") == Some("yes") {
            return None; // platforms, proposed roads, pedestrian squares
        }
        f.0.insert(Field::Class, h.to_string());
        f.0.insert(
            Field::Grade,
            super::tags::grade(tags.as_slice()).as_str().to_string(),
        );
        return Some((Layer::Roads, f));
    }
    if let Some(r) = tag(tags, "railway") {
        if !matches!(
            r,
            "rail" | "light_rail" | "subway" | "tram" | "narrow_gauge"
        ) {
            return None;
        }
        f.0.insert(Field::Class, r.to_string());
        f.0.insert(
            Field::Grade,
            super::tags::grade(tags.as_slice()).as_str().to_string(),
        );
        return Some((Layer::Roads, f));
    }
    let water_area = tag(tags, "natural") == Some("water")
        || matches!(tag(tags, "waterway"), Some("riverbank" | "dock"))
        || matches!(tag(tags, "landuse"), Some("reservoir" | "basin"));
    if water_area && closed {
        return Some((Layer::Water, f));
    }
    if matches!(
        tag(tags, "waterway"),
        Some("river" | "stream" | "canal" | "drain" | "ditch")
    ) {
        return Some((Layer::Water, f));
    }
    None
}

/// "12", "12 m", "12.5m" → "12.5"; anything else is not a number.
fn number(s: &str) -> Option<String> {
    let t = s.trim().trim_end_matches('m').trim();
    t.parse::<f64>().ok().map(|v| v.to_string())
}

/// A statistical division code from the tags people use for it.
fn region_code(tags: &Tags) -> Option<RegionCode> {
    ["ref:gb2260", "adcode", "ref:adcode", "ref:stats", "ref"]
        .iter()
        .filter_map(|k| tag(tags, k))
        .find_map(|v| v.parse().ok())
}

/// Joins ways into closed rings by their end nodes; `None` when some way
/// cannot be closed (clipped at the extract's edge).
fn rings(ways: Vec<Vec<i64>>) -> Option<Vec<Vec<i64>>> {
    let mut open: Vec<Vec<i64>> = Vec::new();
    let mut done = Vec::new();
    for w in ways {
        if w.len() >= 2 && w.first() == w.last() {
            done.push(w);
        } else if w.len() >= 2 {
            open.push(w);
        }
    }
    while let Some(mut ring) = open.pop() {
        loop {
            if ring.first() == ring.last() {
                done.push(ring);
                break;
            }
            let end = *ring.last()?;
            let start = ring[0];
            let next = open.iter().position(|w| {
                w[0] == end
                    || *w.last().unwrap() == end
                    || w[0] == start
                    || *w.last().unwrap() == start
            })?;
            let mut w = open.swap_remove(next);
            if w[0] == end {
                ring.extend_from_slice(&w[1..]);
            } else if *w.last().unwrap() == end {
                w.reverse();
                ring.extend_from_slice(&w[1..]);
            } else if *w.last().unwrap() == start {
                w.extend_from_slice(&ring[1..]);
                ring = w;
            } else {
                w.reverse();
                w.extend_from_slice(&ring[1..]);
                ring = w;
            }
        }
    }
    Some(done)
}

/// The land use an area's tags give, when it says its buildings hold no
/// homes (see [`super::tags::land_says`]): `landuse=*`, or a campus,
/// hospital, park or sight drawn as `amenity`, `leisure` or `tourism`.
fn land_use(tags: &Tags) -> Option<&str> {
    ["landuse", "amenity", "leisure", "tourism"]
        .iter()
        .filter_map(|k| tag(tags, k))
        .find(|v| super::tags::land_says(v))
}

/// Areas whose use says their buildings hold no homes, indexed by their
/// bounding boxes: where an untyped building stands.
/// Node ids to coordinates; `None` when a node is missing from the extract.
type Coords<'a> = &'a dyn Fn(&[i64]) -> Option<Vec<Coord<f64>>>;

type BoxIndex =
    rstar::RTree<rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>>;

struct Lands {
    tree: BoxIndex,
    areas: Vec<(geo_types::Polygon<f64>, String)>,
}

impl Lands {
    fn new(ways: &[Way], relations: &[Relation], coords: Coords<'_>) -> Self {
        use geo::BoundingRect;
        let way_refs: HashMap<i64, &Vec<i64>> = ways.iter().map(|w| (w.id, &w.refs)).collect();
        let mut areas = Vec::new();
        let mut add = |ring: &[i64], kind: &str| {
            if let Some(cs) = coords(ring).filter(|cs| cs.len() >= 4) {
                areas.push((
                    geo_types::Polygon::new(geo_types::LineString(cs), vec![]),
                    kind.to_string(),
                ));
            }
        };
        for w in ways {
            if w.refs.len() >= 4
                && w.refs.first() == w.refs.last()
                && tag(&w.tags, "building").is_none()
            {
                if let Some(k) = land_use(&w.tags) {
                    add(&w.refs, k);
                }
            }
        }
        for r in relations {
            let Some(k) = land_use(&r.tags) else { continue };
            let outer: Option<Vec<Vec<i64>>> = r
                .ways
                .iter()
                .filter(|(_, role)| role == "outer" || role.is_empty())
                .map(|(id, _)| way_refs.get(id).map(|v| (*v).clone()))
                .collect();
            for ring in outer.and_then(rings).unwrap_or_default() {
                add(&ring, k);
            }
        }
        let boxes = areas
            .iter()
            .enumerate()
            .filter_map(|(i, (p, _))| {
                let b = p.bounding_rect()?;
                Some(rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners(
                        [b.min().x, b.min().y],
                        [b.max().x, b.max().y],
                    ),
                    i,
                ))
            })
            .collect();
        Self {
            tree: rstar::RTree::bulk_load(boxes),
            areas,
        }
    }

    /// The use of the land at `c`, if it says anything.
    fn at(&self, c: Coord<f64>) -> Option<&str> {
        use geo::Contains;
        self.tree
            .locate_all_at_point(&[c.x, c.y])
            .map(|g| &self.areas[g.data])
            .find(|(p, _)| p.contains(&geo_types::Point(c)))
            .map(|(_, k)| k.as_str())
    }

    /// An untyped building (`yes`) standing on such land takes its use.
    fn apply(&self, f: &mut OsmFields, at: Option<Coord<f64>>) {
        if f.get(Field::Kind) != Some("yes") {
            return;
        }
        if let Some(k) = at.and_then(|c| self.at(c)) {
            f.0.insert(Field::Kind, k.to_string());
        }
    }
}

/// Reads a PBF file; `layer` keeps only that layer's records.
#[allow(
    clippy::too_many_lines,
    reason = "one pass over the PBF elements with a match over what each tag set makes"
)]
pub fn read(
    path: &Path,
    layer: Option<Layer>,
    opts: &ImportOptions,
) -> Result<RecordStream, IoError> {
    let reader = ElementReader::from_path(path)
        .map_err(|e| file_error(path, format!("not an OSM PBF file: {e}")))?;
    let mut nodes: HashMap<i64, Coord<f64>> = HashMap::new();
    let mut ways: Vec<Way> = Vec::new();
    let mut relations: Vec<Relation> = Vec::new();
    let owned = |it: &mut dyn Iterator<Item = (&str, &str)>| {
        it.map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Tags>()
    };
    reader
        .for_each(|e| match e {
            Element::Node(n) => {
                nodes.insert(
                    n.id(),
                    Coord {
                        x: n.lon(),
                        y: n.lat(),
                    },
                );
            }
            Element::DenseNode(n) => {
                nodes.insert(
                    n.id(),
                    Coord {
                        x: n.lon(),
                        y: n.lat(),
                    },
                );
            }
            Element::Way(w) => ways.push(Way {
                id: w.id(),
                refs: w.refs().collect(),
                tags: owned(&mut w.tags()),
            }),
            Element::Relation(r) => {
                let tags = owned(&mut r.tags());
                let kind = tag(&tags, "type");
                if matches!(kind, Some("multipolygon" | "boundary")) {
                    let ways = r
                        .members()
                        .filter(|m| m.member_type == RelMemberType::Way)
                        .map(|m| (m.member_id, m.role().unwrap_or_default().to_string()))
                        .collect();
                    relations.push(Relation {
                        id: r.id(),
                        tags,
                        ways,
                    });
                }
            }
        })
        .map_err(|e| file_error(path, format!("cannot read the OSM PBF file: {e}")))?;

    let name = path.display().to_string();
    let mut out: Vec<Result<Record, RecordError>> = Vec::new();
    let coords = |refs: &[i64]| {
        refs.iter()
            .map(|r| nodes.get(r).copied())
            .collect::<Option<Vec<_>>>()
    };
    let lands = Lands::new(&ways, &relations, &coords);
    let mut emit = |l: Layer, g: RawGeometry, f: &OsmFields, kind: &'static str, id: i64| {
        if layer.is_some_and(|want| want != l) {
            return;
        }
        let mut on_land;
        let f = if l == Layer::Buildings {
            on_land = OsmFields(f.0.clone());
            // The mean of the outer ring's vertices: inside any footprint
            // that is not strongly concave.
            let middle = match &g {
                RawGeometry::Polygons(p) => p.first().and_then(|r| r.first()).map(|ring| {
                    let n = ring.len().max(1) as f64;
                    Coord {
                        x: ring.iter().map(|c| c.x).sum::<f64>() / n,
                        y: ring.iter().map(|c| c.y).sum::<f64>() / n,
                    }
                }),
                _ => None,
            };
            lands.apply(&mut on_land, middle);
            &on_land
        } else {
            f
        };
        match build(l, &g, f, opts) {
            Ok(rs) => out.extend(rs.into_iter().map(Ok)),
            Err((field, problem)) => out.push(Err(RecordError {
                file: name.clone(),
                location: Location::Osm { kind, id },
                field,
                problem,
            })),
        }
    };
    // Counted only for the layers asked for.
    let note = |l: Layer, reason: &str| {
        if layer.is_none_or(|want| want == l) {
            opts.passed_over.note(reason);
        }
    };
    let way_refs: HashMap<i64, &Vec<i64>> = ways.iter().map(|w| (w.id, &w.refs)).collect();
    let mut in_relation: HashSet<i64> = HashSet::new();
    for r in &relations {
        let admin = tag(&r.tags, "boundary") == Some("administrative");
        let (l, mut f) = if admin {
            let Some(code) = region_code(&r.tags) else {
                note(
                    Layer::Regions,
                    "regions: administrative boundary without a division code",
                );
                continue;
            };
            let mut f = OsmFields::default();
            f.0.insert(Field::Code, code.to_string());
            if let Some(n) = tag(&r.tags, "name:zh").or_else(|| tag(&r.tags, "name")) {
                f.0.insert(Field::Name, n.to_string());
            }
            (Layer::Regions, f)
        } else {
            match classify(&r.tags, true) {
                Some((l @ (Layer::Buildings | Layer::Water), f)) => (l, f),
                _ => continue,
            }
        };
        if !admin {
            in_relation.extend(
                r.ways
                    .iter()
                    .filter(|(_, role)| role == "outer")
                    .map(|(id, _)| *id),
            );
        }
        let member_rings = |role: &str| {
            let ws: Option<Vec<Vec<i64>>> = r
                .ways
                .iter()
                .filter(|(_, rl)| rl == role || (role == "outer" && rl.is_empty()))
                .map(|(id, _)| way_refs.get(id).map(|v| (*v).clone()))
                .collect();
            ws.and_then(rings)
        };
        let cut = format!("{l}: multipolygon cut at the extract's edge");
        let (Some(outer), Some(inner)) = (member_rings("outer"), member_rings("inner")) else {
            note(l, &cut);
            continue;
        };
        let (Some(outer), Some(inner)) = (
            outer.iter().map(|r| coords(r)).collect::<Option<Vec<_>>>(),
            inner.iter().map(|r| coords(r)).collect::<Option<Vec<_>>>(),
        ) else {
            note(l, &cut);
            continue;
        };
        if outer.is_empty() {
            note(l, &format!("{l}: multipolygon without an outer ring"));
            continue;
        }
        // Each inner ring goes to the outer ring that contains its first vertex.
        let mut polys: Vec<Vec<Vec<Coord<f64>>>> = outer.into_iter().map(|o| vec![o]).collect();
        for ring in inner {
            let at = polys.iter().position(|p| {
                use geo::Contains;
                geo_types::Polygon::new(geo_types::LineString(p[0].clone()), vec![])
                    .contains(&geo_types::Point(ring[0]))
            });
            if let Some(i) = at {
                polys[i].push(ring);
            }
        }
        if admin {
            f.0.insert(Field::Id, String::new());
        }
        emit(l, RawGeometry::Polygons(polys), &f, "relation", r.id);
    }
    for w in &ways {
        let closed = w.refs.len() >= 4 && w.refs.first() == w.refs.last();
        let Some((l, f)) = classify(&w.tags, closed) else {
            if !closed && tag(&w.tags, "building").is_some_and(|b| b != "no") {
                note(Layer::Buildings, "buildings: outline not closed");
            }
            continue;
        };
        if in_relation.contains(&w.id) && tag(&w.tags, "building").is_none() && l != Layer::Roads {
            continue; // drawn by its multipolygon
        }
        let Some(cs) = coords(&w.refs) else {
            note(
                l,
                &format!("{l}: way cut at the extract's edge (nodes missing)"),
            );
            continue;
        };
        let g = match l {
            Layer::Buildings => RawGeometry::Polygons(vec![vec![cs]]),
            Layer::Water
                if closed
                    && tag(&w.tags, "waterway").is_none_or(|v| v == "riverbank" || v == "dock") =>
            {
                RawGeometry::Polygons(vec![vec![cs]])
            }
            _ => RawGeometry::Lines(vec![cs]),
        };
        emit(l, g, &f, "way", w.id);
    }
    Ok(Box::new(out.into_iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_buildings_on_a_campus_take_its_use() {
        let nodes: HashMap<i64, Coord<f64>> = [
            (1, (0.0, 0.0)),
            (2, (1.0, 0.0)),
            (3, (1.0, 1.0)),
            (4, (0.0, 1.0)),
        ]
        .into_iter()
        .map(|(id, (x, y))| (id, Coord { x, y }))
        .collect();
        let coords = |refs: &[i64]| refs.iter().map(|r| nodes.get(r).copied()).collect();
        let tags = |kv: &[(&str, &str)]| -> Tags {
            kv.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect()
        };
        let ways = vec![Way {
            id: 10,
            refs: vec![1, 2, 3, 4, 1],
            tags: tags(&[("amenity", "university"), ("name", "复旦大学")]),
        }];
        let lands = Lands::new(&ways, &[], &coords);
        let building = |kv: &[(&str, &str)]| {
            let (_, mut f) = classify(&tags(kv), true).unwrap();
            lands.apply(&mut f, Some(Coord { x: 0.5, y: 0.5 }));
            f.get(Field::Kind).unwrap().to_string()
        };
        assert_eq!(building(&[("building", "yes")]), "university");
        // What the building says itself comes first.
        assert_eq!(building(&[("building", "dormitory")]), "dormitory");
        assert_eq!(
            building(&[("building", "yes"), ("name", "学生公寓")]),
            "apartments"
        );
        // Off the campus, nothing changes.
        let (_, mut f) = classify(&tags(&[("building", "yes")]), true).unwrap();
        lands.apply(&mut f, Some(Coord { x: 2.0, y: 2.0 }));
        assert_eq!(f.get(Field::Kind), Some("yes"));
    }

    #[test]
    fn rings_join_ways_in_any_direction() {
        let r = rings(vec![vec![1, 2, 3], vec![5, 4, 3], vec![5, 6, 1]]).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].first(), r[0].last());
        assert_eq!(r[0].len(), 7);
        assert!(rings(vec![vec![1, 2, 3], vec![3, 4]]).is_none());
    }

    #[test]
    fn heights_and_classes_are_read_from_tags() {
        let tags: Tags = vec![
            ("building".into(), "apartments".into()),
            ("height".into(), "24 m".into()),
            ("building:levels".into(), "8".into()),
        ];
        let (l, f) = classify(&tags, true).unwrap();
        assert_eq!(l, Layer::Buildings);
        assert_eq!(
            (f.get(Field::Height), f.get(Field::Levels)),
            (Some("24"), Some("8"))
        );
        let tags: Tags = vec![("highway".into(), "bus_stop".into())];
        assert!(classify(&tags, false).is_none());
        let tags: Tags = vec![("railway".into(), "tram".into())];
        assert_eq!(classify(&tags, false).unwrap().0, Layer::Roads);
    }
}
