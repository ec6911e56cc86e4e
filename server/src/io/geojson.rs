//! GeoJSON (RFC 7946) FeatureCollections, a Feature or a bare Geometry.
//!
//! The file is checked as JSON first (a syntax error names line and column),
//! then each feature is parsed on its own, so a bad feature is reported by
//! its index and the others still get their say. Tile-derived extracts such
//! as Tilezen's carry a `layer` property per feature: with `all`, features
//! go to the layer they name and the rest (POIs, land use, label points,
//! ferries) are passed over and counted.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use geo_types::Coord;
use geojson::{Feature, GeometryValue, Position};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::build::{build, geometry_fits, Field, Fields, RawGeometry};
use super::{file_error, tags, ImportOptions, IoError, Location, RecordError, RecordStream};
use crate::domain::{Layer, Record};

#[derive(Deserialize)]
struct Collection {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    features: Vec<Box<RawValue>>,
    #[serde(default)]
    crs: Option<Value>,
}

/// Property values looked up once per feature.
struct Props {
    values: Vec<Option<String>>,
}

impl Props {
    fn new(
        props: Option<&serde_json::Map<String, Value>>,
        id: Option<&geojson::feature::Id>,
        layer: Layer,
        opts: &ImportOptions,
    ) -> Self {
        let lower: BTreeMap<String, &Value> = props
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        let mut values: Vec<Option<String>> = Field::ALL
            .iter()
            .map(|&f| {
                let v = opts
                    .columns
                    .names(f)
                    .iter()
                    .find_map(|n| lower.get(n).copied());
                match v {
                    Some(v) => text(v),
                    None if f == Field::Id => id.map(|id| match id {
                        geojson::feature::Id::String(s) => s.clone(),
                        geojson::feature::Id::Number(n) => n.to_string(),
                    }),
                    None => None,
                }
            })
            .collect();
        if matches!(layer, Layer::Roads | Layer::Buildings) {
            let tags: BTreeMap<String, String> = lower
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), text(v)?)))
                .collect();
            if layer == Layer::Roads && values[Field::Grade as usize].is_none() {
                values[Field::Grade as usize] = Some(tags::grade(&tags).as_str().to_string());
            }
            if layer == Layer::Buildings {
                let name = tags.get("name:zh").or_else(|| tags.get("name"));
                let kind = &values[Field::Kind as usize];
                values[Field::Kind as usize] = Some(tags::building_kind(
                    &tags,
                    kind.as_deref(),
                    name.map(String::as_str),
                ));
            }
        }
        Self { values }
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => Some(a.iter().filter_map(text).collect::<Vec<_>>().join(",")),
        other => Some(other.to_string()),
    }
}

impl Fields for Props {
    fn get(&self, f: Field) -> Option<&str> {
        self.values[f as usize].as_deref()
    }
}

fn coord(p: &Position) -> Result<Coord<f64>, String> {
    if p.len() < 2 {
        return Err(format!(
            "a position needs longitude and latitude, found {} number(s)",
            p.len()
        ));
    }
    Ok(Coord { x: p[0], y: p[1] })
}

fn ring(ps: &[Position]) -> Result<Vec<Coord<f64>>, String> {
    ps.iter().map(coord).collect()
}

/// The geometry as read, or why it cannot be used.
fn raw(g: Option<&geojson::Geometry>) -> Result<RawGeometry, String> {
    let Some(g) = g else {
        return Ok(RawGeometry::None);
    };
    Ok(match &g.value {
        GeometryValue::Point { coordinates } => RawGeometry::Point(coord(coordinates)?),
        GeometryValue::MultiPoint { coordinates } if coordinates.len() == 1 => {
            RawGeometry::Point(coord(&coordinates[0])?)
        }
        GeometryValue::LineString { coordinates } => RawGeometry::Lines(vec![ring(coordinates)?]),
        GeometryValue::MultiLineString { coordinates } => RawGeometry::Lines(
            coordinates
                .iter()
                .map(|l| ring(l))
                .collect::<Result<_, _>>()?,
        ),
        GeometryValue::Polygon { coordinates } => RawGeometry::Polygons(vec![coordinates
            .iter()
            .map(|r| ring(r))
            .collect::<Result<_, _>>()?]),
        GeometryValue::MultiPolygon { coordinates } => RawGeometry::Polygons(
            coordinates
                .iter()
                .map(|p| p.iter().map(|r| ring(r)).collect::<Result<Vec<_>, _>>())
                .collect::<Result<_, _>>()?,
        ),
        GeometryValue::MultiPoint { .. } => {
            return Err("a MultiPoint with several points: give one point per record".into())
        }
        GeometryValue::GeometryCollection { .. } => {
            return Err("GeometryCollection is not supported: split it into features".into())
        }
    })
}

/// The layer a feature of a multi-layer file belongs to, if any of ours.
fn layer_of(props: Option<&serde_json::Map<String, Value>>) -> Option<Layer> {
    let props = props?;
    let kind = props
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match props.get("layer") {
        Some(Value::String(s)) => match s.as_str() {
            "roads" if kind == "ferry" => None,
            "transit" | "boundaries" | "pois" | "landuse" | "earth" | "places" => None,
            other => Layer::parse(other),
        },
        // Tilezen overwrites its `layer` with OSM's layer tag (bridges,
        // buildings on podiums): fall back to the feature's kind.
        _ => match kind {
            "building" | "building_part" => Some(Layer::Buildings),
            "water" | "river" | "riverbank" | "canal" | "stream" | "lake" => Some(Layer::Water),
            _ => None,
        },
    }
}

/// Why a feature of a multi-layer file was passed over: the layer it
/// names (`pois`, `landuse`, ...) or its kind (ferries).
fn passed_reason(props: Option<&serde_json::Map<String, Value>>) -> String {
    let get = |k: &str| props.and_then(|p| p.get(k)).and_then(Value::as_str);
    match (get("layer"), get("kind")) {
        (Some("roads"), Some(kind)) => format!("roads: {kind} (not a road we draw)"),
        (Some(l), _) => format!("{l} (a layer not imported)"),
        (None, Some(kind)) => format!("{kind} (a kind not imported)"),
        (None, None) => "features of other layers".to_string(),
    }
}

/// Opens a GeoJSON file; `layer` `None` takes each feature's `layer`.
#[allow(
    clippy::too_many_lines,
    reason = "one match over layers for each feature: which record a GeoJSON feature makes"
)]
pub fn read(
    path: &Path,
    layer: Option<Layer>,
    opts: &ImportOptions,
) -> Result<RecordStream, IoError> {
    let file = File::open(path).map_err(|e| file_error(path, e.to_string()))?;
    let value: Box<RawValue> = serde_json::from_reader(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| {
            file_error(
                path,
                format!(
                    "invalid JSON at line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ),
            )
        })?;
    let features: Vec<Box<RawValue>> = match serde_json::from_str::<Collection>(value.get()) {
        Ok(c) if c.kind == "FeatureCollection" => {
            if let Some(crs) = c
                .crs
                .as_ref()
                .and_then(|c| c.pointer("/properties/name"))
                .and_then(Value::as_str)
            {
                if !crs.ends_with("CRS84") && !crs.ends_with("4326") && !crs.ends_with("4490") {
                    return Err(file_error(
                        path,
                        format!("the file declares CRS {crs}; imports take longitude/latitude degrees (wgs84, cgcs2000, gcj02 or bd09): reproject it first, e.g. ogr2ogr -t_srs EPSG:4326"),
                    ));
                }
            }
            c.features
        }
        Ok(c) if c.kind == "Feature" => vec![value],
        Ok(c)
            if matches!(
                c.kind.as_str(),
                "Point"
                    | "LineString"
                    | "Polygon"
                    | "MultiPoint"
                    | "MultiLineString"
                    | "MultiPolygon"
            ) =>
        {
            let wrapped = format!(
                r#"{{"type":"Feature","properties":{{}},"geometry":{}}}"#,
                value.get()
            );
            vec![RawValue::from_string(wrapped).expect("valid JSON")]
        }
        Ok(c) => {
            return Err(file_error(
                path,
                format!(
                    "GeoJSON type {:?} is not a FeatureCollection, Feature or Geometry",
                    c.kind
                ),
            ))
        }
        Err(e) => return Err(file_error(path, format!("not GeoJSON: {e}"))),
    };
    let name = path.display().to_string();
    let opts = opts.clone();
    let mut pending: std::vec::IntoIter<Record> = Vec::new().into_iter();
    let mut features = features.into_iter().enumerate();
    Ok(Box::new(std::iter::from_fn(move || loop {
        if let Some(r) = pending.next() {
            return Some(Ok(r));
        }
        let (i, raw_feature) = features.next()?;
        let at = |field: Option<String>, problem: String| RecordError {
            file: name.clone(),
            location: Location::Feature(i),
            field,
            problem,
        };
        let feature: Feature = match serde_json::from_str(raw_feature.get()) {
            Ok(f) => f,
            Err(e) => return Some(Err(at(None, format!("not a GeoJSON feature: {e}")))),
        };
        let tagged = feature
            .properties
            .as_ref()
            .is_some_and(|p| p.contains_key("layer"));
        let Some(this_layer) = (match layer {
            Some(l) if tagged => layer_of(feature.properties.as_ref()).filter(|fl| *fl == l),
            Some(l) => Some(l),
            None => layer_of(feature.properties.as_ref()),
        }) else {
            if layer.is_none() && !tagged {
                return Some(Err(at(Some("layer".into()), "no layer: name one (e.g. regions) instead of all, or give each feature a layer property".into())));
            }
            // Another layer of a multi-layer file.
            opts.passed_over
                .note(&passed_reason(feature.properties.as_ref()));
            continue;
        };
        let g = match raw(feature.geometry.as_ref()) {
            Ok(g) => g,
            Err(p) => return Some(Err(at(Some("geometry".into()), p))),
        };
        if tagged && !geometry_fits(this_layer, &g) {
            // Label, address and entrance points of buildings and the like.
            opts.passed_over.note(&format!(
                "{this_layer}: {} (not a shape of this layer)",
                g.kind()
            ));
            continue;
        }
        let props = Props::new(
            feature.properties.as_ref(),
            feature.id.as_ref(),
            this_layer,
            &opts,
        );
        match build(this_layer, &g, &props, &opts) {
            Ok(records) => pending = records.into_iter(),
            Err((field, problem)) => return Some(Err(at(field, problem))),
        }
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn run(text: &str, layer: Option<Layer>) -> Result<Vec<Result<Record, RecordError>>, IoError> {
        let mut f = tempfile::Builder::new()
            .suffix(".geojson")
            .tempfile()
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
        read(f.path(), layer, &ImportOptions::default()).map(Iterator::collect)
    }

    fn square(x: f64) -> String {
        format!(
            "[[[{x},31],[{},31],[{},31.1],[{x},31.1],[{x},31]]]",
            x + 0.1,
            x + 0.1
        )
    }

    #[test]
    fn invalid_json_names_line_and_column() {
        let e = run(
            "{\"type\":\"FeatureCollection\",\n\"features\":[}\n",
            Some(Layer::Regions),
        )
        .err()
        .unwrap();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn reads_regions_with_codes() {
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","properties":{{"adcode":310101,"name":"黄浦区"}},"geometry":{{"type":"Polygon","coordinates":{}}}}}]}}"#,
            square(121.4)
        );
        let rows = run(&text, Some(Layer::Regions)).unwrap();
        let Ok(Record::Region(r)) = &rows[0] else {
            panic!("{rows:?}")
        };
        assert_eq!(
            (r.code.to_string().as_str(), r.name.as_str()),
            ("310101000000", "黄浦区")
        );
    }

    #[test]
    fn bad_features_are_reported_by_index() {
        let text = format!(
            r#"{{"type":"FeatureCollection","features":[
            {{"type":"Feature","properties":{{"code":"310101"}},"geometry":{{"type":"Polygon","coordinates":{}}}}},
            {{"type":"Feature","properties":{{"code":"310102"}},"geometry":{{"type":"Polygon","coordinates":[[[121,31],[121.1,31.1],[121.1,31],[121,31.1],[121,31]]]}}}},
            {{"type":"Feature","properties":{{"code":"310103"}},"geometry":{{"type":"Polygon","coordinates":[[[121,31],[121.1,31],[121.1,31.1],[121,31.1]]]}}}},
            {{"type":"Feature","properties":{{"code":"310104"}},"geometry":{{"type":"Polygon","coordinates":[[[31,121],[31,121.1],[31.1,121.1],[31,121]]]}}}}
            ]}}"#,
            square(121.4)
        );
        let rows = run(&text, Some(Layer::Regions)).unwrap();
        let errs: Vec<String> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(ToString::to_string)
            .collect();
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(
            errs[0].contains("feature 1") && errs[0].contains("crosses itself"),
            "{}",
            errs[0]
        );
        assert!(
            errs[1].contains("feature 2") && errs[1].contains("not closed"),
            "{}",
            errs[1]
        );
        assert!(
            errs[2].contains("feature 3") && errs[2].contains("swapped"),
            "{}",
            errs[2]
        );
    }

    #[test]
    fn projected_crs_is_refused() {
        let text = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}"#;
        let e = run(text, Some(Layer::Regions)).err().unwrap();
        assert!(e.to_string().contains("3857"), "{e}");
    }
}
