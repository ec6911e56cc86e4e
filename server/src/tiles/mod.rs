//! Vector tiles of every layer, encoded in-process from the snapshot, so
//! the viewer needs nothing from outside and maps are never stale.
//!
//! A *source* is one tile set (`/tiles/{source}/{z}/{x}/{y}.mvt`) holding
//! one or more MVT layers. Tiles go through the caller's region scope like
//! every other read and never carry a personal or sensitive field: names,
//! phone numbers, addresses and care levels stay in the API. For roles that
//! see individuals, households are counts per cell below
//! [`HOUSEHOLD_POINTS_FROM`], points with an id only from there on; roles
//! that see counts only (`viewer`, a public map) get k-anonymous counts
//! ([`cells`]) at every zoom, no people, and no finding of fewer than k
//! households.
//!
//! [`cache::TileCache`] keeps encoded tiles with content ETags and drops
//! exactly the tiles a new snapshot changes ([`cache`]); plan grids and
//! their figures come from [`grids`], coverage findings from [`gaps`].

pub mod cache;
pub mod cells;
pub mod gaps;
pub mod grids;
pub mod mvt;
mod render;

pub use cache::{Fetch, Tile, TileCache};
pub use render::render;

use serde_json::{json, Value};

/// A tile address that names no tile.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TileError {
    #[error(
        "unknown tile source {0:?}; sources: regions, grids, atoms, households, people, gaps, basemap"
    )]
    UnknownSource(String),
    #[error("tile {0}: z/x/y.mvt expected with 0 <= z <= {MAX_ZOOM} and x, y below 2^z")]
    BadAddress(String),
}

/// Parses `/tiles/{source}/{z}/{x}/{y}.mvt` (`.pbf` is accepted too).
pub fn address(source: &str, z: &str, x: &str, y: &str) -> Result<(Source, mvt::Frame), TileError> {
    let src = Source::parse(source).ok_or_else(|| TileError::UnknownSource(source.to_owned()))?;
    let bad = || TileError::BadAddress(format!("{z}/{x}/{y}"));
    let y_num = y
        .strip_suffix(".mvt")
        .or_else(|| y.strip_suffix(".pbf"))
        .ok_or_else(bad)?;
    let z: u8 = z.parse().map_err(|_| bad())?;
    if z > MAX_ZOOM {
        return Err(bad());
    }
    let frame = mvt::Frame::new(
        z,
        x.parse().map_err(|_| bad())?,
        y_num.parse().map_err(|_| bad())?,
    )
    .ok_or_else(bad)?;
    Ok((src, frame))
}

/// One tile set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    Regions,
    Grids,
    Atoms,
    Households,
    People,
    Gaps,
    Basemap,
}

/// Households are points with an id from this zoom on, counts per cell
/// below it.
pub const HOUSEHOLD_POINTS_FROM: u8 = 16;

/// An MVT layer of a source, as TileJSON's `vector_layers` lists it.
#[derive(Debug, Clone, Copy)]
pub struct VectorLayer {
    pub id: &'static str,
    pub minzoom: u8,
    pub maxzoom: u8,
    pub description: &'static str,
    /// Attribute name and type (`String`, `Number`, `Boolean`).
    pub fields: &'static [(&'static str, &'static str)],
}

const fn vl(
    id: &'static str,
    minzoom: u8,
    maxzoom: u8,
    description: &'static str,
    fields: &'static [(&'static str, &'static str)],
) -> VectorLayer {
    VectorLayer {
        id,
        minzoom,
        maxzoom,
        description,
        fields,
    }
}

/// Deepest zoom any source is cut at; clients over-zoom beyond it.
pub const MAX_ZOOM: u8 = 18;

const GRID_FIELDS: &[(&str, &str)] = &[
    ("code", "String"),
    ("level", "Number"),
    ("parent", "String"),
    ("region", "String"),
    ("households", "Number"),
    ("balance", "String"),
    ("deviation", "Number"),
];

const REGIONS: &[VectorLayer] = &[
    vl(
        "regions",
        0,
        MAX_ZOOM,
        "region boundaries",
        &[
            ("code", "String"),
            ("name", "String"),
            ("parent", "String"),
            ("depth", "Number"),
        ],
    ),
    vl(
        "region_labels",
        0,
        MAX_ZOOM,
        "a point inside each region",
        &[("code", "String"), ("name", "String"), ("depth", "Number")],
    ),
];
const GRIDS: &[VectorLayer] = &[
    vl("grid1", 8, MAX_ZOOM, "level-1 grids", GRID_FIELDS),
    vl("grid2", 11, MAX_ZOOM, "level-2 grids", GRID_FIELDS),
    vl("grid3", 13, MAX_ZOOM, "level-3 grids", GRID_FIELDS),
    vl(
        "grid_labels",
        8,
        MAX_ZOOM,
        "a point inside each grid, at the zooms its level shows",
        GRID_FIELDS,
    ),
];
const ATOMS: &[VectorLayer] = &[vl(
    "atoms",
    13,
    MAX_ZOOM,
    "atoms",
    &[
        ("id", "Number"),
        ("atom", "Number"),
        ("kind", "String"),
        ("region", "String"),
    ],
)];
const HOUSEHOLDS: &[VectorLayer] = &[
    vl(
        "household_cells",
        10,
        HOUSEHOLD_POINTS_FROM - 1,
        "households counted per cell (128 tile units)",
        &[("count", "Number")],
    ),
    vl(
        "households",
        HOUSEHOLD_POINTS_FROM,
        MAX_ZOOM,
        "household points",
        &[("id", "Number")],
    ),
];
/// What counts-only callers get of households: cells at every zoom.
const COUNTED_HOUSEHOLDS: &[VectorLayer] = &[vl(
    "household_cells",
    cells::MIN_ZOOM,
    MAX_ZOOM,
    "households counted per cell, each count at least the policy's k (privacy.min_cell_households): smaller cells are merged into coarser ones or not shown",
    &[("count", "Number")],
)];
const PEOPLE: &[VectorLayer] = &[vl(
    "people",
    12,
    MAX_ZOOM,
    "people by role",
    &[
        ("id", "Number"),
        ("role", "String"),
        ("roles", "String"),
        ("available", "Boolean"),
        ("reserve", "Boolean"),
    ],
)];
const GAPS: &[VectorLayer] = &[vl(
    "gaps",
    10,
    MAX_ZOOM,
    "coverage findings with an area",
    &[
        ("kind", "String"),
        ("kind_name", "String"),
        ("severity", "String"),
        ("region", "String"),
        ("level", "Number"),
        ("households", "Number"),
        ("vulnerable", "Number"),
        ("area_m2", "Number"),
    ],
)];
const BASEMAP: &[VectorLayer] = &[
    vl(
        "water",
        0,
        MAX_ZOOM,
        "water areas: lakes, river areas",
        &[("kind", "String"), ("name", "String")],
    ),
    vl(
        "waterways",
        0,
        MAX_ZOOM,
        "river, stream and canal centre lines",
        &[("kind", "String"), ("name", "String")],
    ),
    vl(
        "roads",
        10,
        MAX_ZOOM,
        "roads and railways (minor ones from z13)",
        &[("class", "String"), ("name", "String")],
    ),
    vl(
        "buildings",
        14,
        MAX_ZOOM,
        "building footprints",
        &[("levels", "Number"), ("kind", "String")],
    ),
];

impl Source {
    pub const ALL: [Source; 7] = [
        Self::Regions,
        Self::Grids,
        Self::Atoms,
        Self::Households,
        Self::People,
        Self::Gaps,
        Self::Basemap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regions => "regions",
            Self::Grids => "grids",
            Self::Atoms => "atoms",
            Self::Households => "households",
            Self::People => "people",
            Self::Gaps => "gaps",
            Self::Basemap => "basemap",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Regions => "administrative regions (streets, communities) with labels",
            Self::Grids => "grids of the current plan by level (imported grids where a region has no plan), with households and balance",
            Self::Atoms => "atoms: the blocks grids are made of",
            Self::Households => "households: counts per cell at low zoom, points (id only) at high zoom",
            Self::People => "grid staff and volunteers: role and availability, no names",
            Self::Gaps => "coverage findings with a place (as /api/regions/{code}/gaps): uncovered land, overlaps, grids short of staff or overloaded, cells of unreached vulnerable households; never a household's point",
            Self::Basemap => "roads, buildings and water from the store",
        }
    }

    pub fn layers(self) -> &'static [VectorLayer] {
        match self {
            Self::Regions => REGIONS,
            Self::Grids => GRIDS,
            Self::Atoms => ATOMS,
            Self::Households => HOUSEHOLDS,
            Self::People => PEOPLE,
            Self::Gaps => GAPS,
            Self::Basemap => BASEMAP,
        }
    }

    /// The layers a caller who sees households and people at `detail`
    /// gets: counts-only callers get household cells only, and no people.
    pub fn layers_for(self, detail: crate::access::projection::Detail) -> &'static [VectorLayer] {
        use crate::access::projection::Detail;
        match (detail, self) {
            (Detail::Counts, Self::Households) => COUNTED_HOUSEHOLDS,
            (Detail::Counts, Self::People) => &[],
            _ => self.layers(),
        }
    }

    pub fn minzoom(self) -> u8 {
        self.layers().iter().map(|l| l.minzoom).min().unwrap_or(0)
    }

    /// Zooms of a source's layer, for layers that thin out by zoom.
    pub fn layer(self, id: &str) -> Option<&'static VectorLayer> {
        self.layers().iter().find(|l| l.id == id)
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// TileJSON 3.0.0 for a source as a caller who sees households and people
/// at `detail` gets it; `base` is the server's own origin (or empty for
/// relative URLs, which MapLibre resolves against the page).
pub fn tilejson(
    source: Source,
    detail: crate::access::projection::Detail,
    base: &str,
    bounds: Option<geo_types::Rect<f64>>,
) -> Value {
    let b = bounds.map_or(json!([-180.0, -85.051_128_8, 180.0, 85.051_128_8]), |r| {
        json!([r.min().x, r.min().y, r.max().x, r.max().y])
    });
    let center = bounds.map(|r| {
        let c = r.center();
        json!([c.x, c.y, 12])
    });
    let layers: Vec<Value> = source
        .layers_for(detail)
        .iter()
        .map(|l| {
            let fields: serde_json::Map<String, Value> = l
                .fields
                .iter()
                .map(|(k, t)| ((*k).to_owned(), json!(t)))
                .collect();
            json!({
                "id": l.id,
                "description": l.description,
                "minzoom": l.minzoom,
                "maxzoom": l.maxzoom,
                "fields": fields,
            })
        })
        .collect();
    let mut v = json!({
        "tilejson": "3.0.0",
        "name": source.as_str(),
        "description": source.description(),
        "scheme": "xyz",
        "format": "pbf",
        "tiles": [format!("{base}/tiles/{}/{{z}}/{{x}}/{{y}}.mvt", source.as_str())],
        "minzoom": source.minzoom(),
        "maxzoom": MAX_ZOOM,
        "bounds": b,
        "vector_layers": layers,
    });
    if let Some(c) = center {
        v["center"] = c;
    }
    v
}

#[cfg(test)]
mod tests;
