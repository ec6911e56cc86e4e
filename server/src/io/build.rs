//! From a file's fields and geometry to domain records: the part every
//! format shares. Field names are found through [`Columns`]: what the user
//! named on the command line first, then common English and Chinese names.

use geo_types::{Coord, Geometry, LineString, MultiPolygon, Point, Polygon};

use super::validate;
use super::ImportOptions;
use crate::domain::{
    Atom, AtomKind, Building, CareLevel, Grade, GridCode, Household, ImportedGrid, Level, Person,
    Region, RegionCode, Road, RoadClass, Role, SensitiveFlags, Water, WaterKind,
};
use crate::domain::{Layer, Record};

/// A logical field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Id,
    Lon,
    Lat,
    Code,
    Name,
    Parent,
    Region,
    Size,
    Care,
    Flags,
    Address,
    Phone,
    Building,
    Roles,
    Team,
    Skills,
    Available,
    /// A volunteer's status (on_duty, off_duty, dispatched); wins over
    /// `available` when both are given.
    Status,
    Reserve,
    Grids,
    Level,
    Class,
    ClassDetail,
    Levels,
    Height,
    Kind,
    Estimated,
    Grade,
}

impl Field {
    pub const ALL: [Field; 28] = [
        Self::Id,
        Self::Lon,
        Self::Lat,
        Self::Code,
        Self::Name,
        Self::Parent,
        Self::Region,
        Self::Size,
        Self::Care,
        Self::Flags,
        Self::Address,
        Self::Phone,
        Self::Building,
        Self::Roles,
        Self::Team,
        Self::Skills,
        Self::Available,
        Self::Status,
        Self::Reserve,
        Self::Grids,
        Self::Level,
        Self::Class,
        Self::ClassDetail,
        Self::Levels,
        Self::Height,
        Self::Kind,
        Self::Estimated,
        Self::Grade,
    ];

    /// Names tried when the user names no column, lower case.
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Self::Id => &["id", "fid", "编号"],
            Self::Lon => &["lon", "lng", "longitude", "x", "经度"],
            Self::Lat => &["lat", "latitude", "y", "纬度"],
            Self::Code => &["code", "adcode", "区划代码", "代码", "网格编码"],
            Self::Name => &["name", "名称", "姓名", "户主", "户主姓名"],
            Self::Parent => &["parent", "parent_adcode", "parent_code", "上级", "上级编码"],
            Self::Region => &["region", "region_code", "所属区域", "社区编码"],
            Self::Size => &["size", "persons", "人数", "户人数", "人口"],
            Self::Care => &["care", "care_level", "户类别", "类别"],
            Self::Flags => &["flags", "sensitive", "标记"],
            Self::Address => &["address", "addr", "地址", "住址"],
            Self::Phone => &["phone", "tel", "mobile", "电话", "联系电话", "手机"],
            Self::Building => &["building", "building_id", "楼栋"],
            Self::Roles => &["roles", "role", "角色", "职务"],
            Self::Team => &["team", "队伍", "所属队伍"],
            Self::Skills => &["skills", "skill", "技能"],
            Self::Available => &["available", "可用", "在岗"],
            Self::Status => &["status", "状态", "值守状态"],
            Self::Reserve => &["reserve", "预备队", "应急预备队"],
            Self::Grids => &["grids", "grid", "网格"],
            Self::Level => &["level", "层级", "网格层级"],
            Self::Class => &["class", "highway", "railway", "kind", "道路等级"],
            Self::ClassDetail => &["kind_detail"],
            Self::Levels => &["levels", "building:levels", "层数"],
            Self::Height => &["height", "高度"],
            Self::Kind => &["kind_detail", "building", "kind", "type", "类型"],
            Self::Estimated => &["estimated", "估算"],
            Self::Grade => &["grade"],
        }
    }
}

/// Column (or property) names for each field; `None` = the defaults.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Columns {
    /// Column holding longitude (default: lon, lng, longitude, x, 经度).
    #[arg(long)]
    pub lon_col: Option<String>,
    /// Column holding latitude (default: lat, latitude, y, 纬度).
    #[arg(long)]
    pub lat_col: Option<String>,
    /// Column holding the record id (default: id, fid, 编号).
    #[arg(long)]
    pub id_col: Option<String>,
    /// Column holding a region or grid code (default: code, adcode, 区划代码).
    #[arg(long)]
    pub code_col: Option<String>,
    /// Column holding a name (default: name, 名称, 姓名, 户主).
    #[arg(long)]
    pub name_col: Option<String>,
    /// Column holding the household size (default: size, 人数).
    #[arg(long)]
    pub size_col: Option<String>,
    /// Column holding the care level (default: care, 户类别).
    #[arg(long)]
    pub care_col: Option<String>,
    /// Column holding the address (default: address, 地址).
    #[arg(long)]
    pub address_col: Option<String>,
    /// Column holding the phone number (default: phone, 电话).
    #[arg(long)]
    pub phone_col: Option<String>,
}

impl Columns {
    /// Names to try for `f`, lower case, the user's first.
    pub fn names(&self, f: Field) -> Vec<String> {
        let user = match f {
            Field::Lon => &self.lon_col,
            Field::Lat => &self.lat_col,
            Field::Id => &self.id_col,
            Field::Code => &self.code_col,
            Field::Name => &self.name_col,
            Field::Size => &self.size_col,
            Field::Care => &self.care_col,
            Field::Address => &self.address_col,
            Field::Phone => &self.phone_col,
            _ => &None,
        };
        match user {
            Some(u) => vec![u.trim().to_lowercase()],
            None => f.defaults().iter().map(|s| (*s).to_string()).collect(),
        }
    }

    /// True when the user named the column for `f`.
    pub fn named(&self, f: Field) -> bool {
        self.names(f)
            != Field::defaults(f)
                .iter()
                .map(|s| (*s).to_string())
                .collect::<Vec<_>>()
    }
}

/// A source of field values for one record.
pub trait Fields {
    fn get(&self, f: Field) -> Option<&str>;
}

/// Geometry as read, before CRS conversion and validation.
#[derive(Debug, Clone)]
pub enum RawGeometry {
    None,
    Point(Coord<f64>),
    Lines(Vec<Vec<Coord<f64>>>),
    /// Polygons, each a list of rings as read (maybe unclosed).
    Polygons(Vec<Vec<Vec<Coord<f64>>>>),
}

impl RawGeometry {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::None => "no geometry",
            Self::Point(_) => "a point",
            Self::Lines(_) => "a line",
            Self::Polygons(_) => "a polygon",
        }
    }
}

/// A failure while building: the field it concerns and what is wrong.
pub type BuildError = (Option<String>, String);

fn err<T>(field: &str, problem: impl Into<String>) -> Result<T, BuildError> {
    Err((Some(field.to_string()), problem.into()))
}

fn geom_err<T>(problem: impl Into<String>) -> Result<T, BuildError> {
    Err((Some("geometry".into()), problem.into()))
}

fn opt_str(fields: &dyn Fields, f: Field) -> Option<&str> {
    fields.get(f).map(str::trim).filter(|s| !s.is_empty())
}

fn parse_num<T: std::str::FromStr>(
    fields: &dyn Fields,
    f: Field,
    name: &str,
) -> Result<Option<T>, BuildError> {
    match opt_str(fields, f) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .or_else(|_| err(name, format!("{s:?} is not a valid number"))),
    }
}

fn parse_bool(
    fields: &dyn Fields,
    f: Field,
    name: &str,
    default: bool,
) -> Result<bool, BuildError> {
    match opt_str(fields, f) {
        None => Ok(default),
        Some(s) => match s.to_lowercase().as_str() {
            "1" | "true" | "yes" | "y" | "t" | "是" | "有" => Ok(true),
            "0" | "false" | "no" | "n" | "f" | "否" | "无" => Ok(false),
            _ => err(
                name,
                format!("{s:?} is not yes/no (1/0, true/false, 是/否)"),
            ),
        },
    }
}

fn parse_code(s: &str, name: &str) -> Result<RegionCode, BuildError> {
    s.parse().or_else(|e| err(name, format!("{e}")))
}

fn list(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split([',', ';', '|', '、', '，', '；'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn convert(c: Coord<f64>, opts: &ImportOptions) -> Coord<f64> {
    opts.crs.to_wgs84(c)
}

/// A point, validated in the source CRS, converted to WGS-84.
fn point(g: &RawGeometry, opts: &ImportOptions) -> Result<Point<f64>, BuildError> {
    match g {
        RawGeometry::Point(c) => {
            validate::check_position(c.x, c.y, opts.crs).or_else(geom_err)?;
            Ok(Point(convert(*c, opts)))
        }
        other => geom_err(format!("expected a point, found {}", other.kind())),
    }
}

/// Polygons validated (rings as read, then OGC validity after conversion).
fn polygons(g: &RawGeometry, opts: &ImportOptions) -> Result<MultiPolygon<f64>, BuildError> {
    let RawGeometry::Polygons(polys) = g else {
        return geom_err(format!("expected a polygon, found {}", g.kind()));
    };
    let mut out = Vec::with_capacity(polys.len());
    for (pi, rings) in polys.iter().enumerate() {
        let at = |e: String| {
            if polys.len() > 1 {
                format!("polygon {pi}: {e}")
            } else {
                e
            }
        };
        validate::check_rings(rings, opts.crs).map_err(|e| (Some("geometry".into()), at(e)))?;
        let mut conv = rings
            .iter()
            .map(|r| LineString(r.iter().map(|c| convert(*c, opts)).collect()));
        let exterior = conv.next().expect("checked: at least one ring");
        let p = Polygon::new(exterior, conv.collect());
        validate::check_polygon(&p).map_err(|e| (Some("geometry".into()), at(e)))?;
        out.push(p);
    }
    Ok(MultiPolygon(out))
}

fn lines(g: &RawGeometry, opts: &ImportOptions) -> Result<Vec<LineString<f64>>, BuildError> {
    let RawGeometry::Lines(ls) = g else {
        return geom_err(format!("expected a line, found {}", g.kind()));
    };
    ls.iter()
        .enumerate()
        .map(|(i, l)| {
            validate::check_line(l, opts.crs).map_err(|e| {
                (
                    Some("geometry".into()),
                    if ls.len() > 1 {
                        format!("line {i}: {e}")
                    } else {
                        e
                    },
                )
            })?;
            Ok(LineString(l.iter().map(|c| convert(*c, opts)).collect()))
        })
        .collect()
}

/// Whether record ids come from the data for this layer: households and
/// people have identities of their own; basemap features from clipped or
/// merged extracts repeat ids, so theirs are assigned unless a column is named.
fn use_ids(layer: Layer, opts: &ImportOptions) -> bool {
    matches!(layer, Layer::Households | Layer::People | Layer::Grids)
        || opts.columns.named(Field::Id)
}

/// Builds the records of one feature/row (a multi-line road gives several).
pub fn build(
    layer: Layer,
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let id: i64 = if use_ids(layer, opts) {
        parse_num(fields, Field::Id, "id")?.unwrap_or(0)
    } else {
        0
    };
    if id < 0 {
        return err("id", format!("{id} is negative"));
    }
    match layer {
        Layer::Households => household(id, g, fields, opts),
        Layer::People => person(id, g, fields, opts),
        Layer::Regions => region(g, fields, opts),
        Layer::Grids => grid(id, g, fields, opts),
        Layer::Atoms => atom(g, fields, opts),
        Layer::Roads => roads(id, g, fields, opts),
        Layer::Buildings => building(id, g, fields, opts),
        Layer::Water => water(id, g, fields, opts),
    }
}

/// A region code from `f`, when the field has a value.
fn region_field(
    fields: &dyn Fields,
    f: Field,
    name: &str,
) -> Result<Option<RegionCode>, BuildError> {
    opt_str(fields, f).map(|s| parse_code(s, name)).transpose()
}

/// A household: its point, care level (by key, name or index), size,
/// flags and contact fields.
fn household(
    id: i64,
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let care = match opt_str(fields, Field::Care) {
        None => CareLevel::REASSURED,
        Some(s) => match opts.policy.care_level(s) {
            Some(c) => c,
            None => match s.parse::<u8>() {
                Ok(n) if usize::from(n) < opts.policy.care_levels.len() => CareLevel(n),
                _ => {
                    let known: Vec<_> = opts
                        .policy
                        .care_levels
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect();
                    return err(
                        "care",
                        format!("unknown care level {s:?} (known: {})", known.join(", ")),
                    );
                }
            },
        },
    };
    let size: u32 = parse_num(fields, Field::Size, "size")?.unwrap_or(1);
    if size == 0 || size > 100 {
        return err(
            "size",
            format!("{size} persons is not a plausible household size (1-100)"),
        );
    }
    Ok(vec![Record::Household(Household {
        id,
        location: point(g, opts)?,
        size: size as u8,
        care,
        flags: opt_str(fields, Field::Flags).map_or(Ok(SensitiveFlags::default()), |s| {
            SensitiveFlags::parse(s).map_err(|e| (Some("flags".into()), e))
        })?,
        building: parse_num(fields, Field::Building, "building")?,
        address: opt_str(fields, Field::Address)
            .unwrap_or_default()
            .to_string(),
        head_name: opt_str(fields, Field::Name).unwrap_or_default().to_string(),
        phone: opt_str(fields, Field::Phone)
            .unwrap_or_default()
            .to_string(),
        region: region_field(fields, Field::Region, "region")?,
        estimated: parse_bool(fields, Field::Estimated, "estimated", false)?,
    })])
}

/// A person: staff or volunteer, with roles, skills and the grids they serve.
fn person(
    id: i64,
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let roles = list(opt_str(fields, Field::Roles))
        .iter()
        .map(|r| {
            Role::parse(r).ok_or_else(|| (Some("roles".to_string()), format!("unknown role {r:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(vec![Record::Person(Person {
        id,
        name: opt_str(fields, Field::Name).unwrap_or_default().to_string(),
        phone: opt_str(fields, Field::Phone)
            .unwrap_or_default()
            .to_string(),
        roles,
        team: opt_str(fields, Field::Team).map(str::to_string),
        skills: list(opt_str(fields, Field::Skills)),
        status: match opt_str(fields, Field::Status) {
            Some(s) => crate::domain::Availability::parse(s).map_or_else(
                || {
                    err(
                        "status",
                        format!("{s:?}: on_duty, off_duty or dispatched (在岗, 离岗, 已派出)"),
                    )
                },
                Ok,
            )?,
            None => crate::domain::Availability::from_available(parse_bool(
                fields,
                Field::Available,
                "available",
                true,
            )?),
        },
        checkin: None,
        reserve: parse_bool(fields, Field::Reserve, "reserve", false)?,
        home: point(g, opts)?,
        grids: list(opt_str(fields, Field::Grids))
            .into_iter()
            .map(GridCode)
            .collect(),
        region: region_field(fields, Field::Region, "region")?,
    })])
}

/// A region: its boundary and statistical division code (or `--region`).
fn region(
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let boundary = polygons(g, opts)?;
    let code = match opt_str(fields, Field::Code) {
        Some(s) => parse_code(s, "code")?,
        None => match opts.region {
            Some(c) => c,
            None => {
                return err(
                    "code",
                    "missing: a region needs its statistical division code",
                )
            }
        },
    };
    Ok(vec![Record::Region(Region {
        code,
        name: opt_str(fields, Field::Name).map_or_else(|| code.to_string(), str::to_string),
        parent: region_field(fields, Field::Parent, "parent")?.filter(|p| *p != code),
        boundary,
    })])
}

/// A drawn grid: code, level, and its region (named, `--region`, or the
/// first 12 digits of its code).
fn grid(
    id: i64,
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let Some(code) = opt_str(fields, Field::Code) else {
        return err("code", "missing: a grid needs its code");
    };
    let level: u8 = parse_num(fields, Field::Level, "level")?
        .ok_or_else(|| (Some("level".into()), "missing: 1, 2 or 3".into()))?;
    let level = Level::new(level)
        .ok_or_else(|| (Some("level".into()), format!("{level} is not 1, 2 or 3")))?;
    let region = match (region_field(fields, Field::Region, "region")?, opts.region) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => match code.get(..12).and_then(|p| p.parse().ok()) {
            Some(r) => r,
            None => {
                return err(
                    "region",
                    "missing, and the grid code does not start with a 12-digit region code",
                )
            }
        },
    };
    Ok(vec![Record::Grid(ImportedGrid {
        id,
        region,
        level,
        code: GridCode(code.to_string()),
        name: opt_str(fields, Field::Name).unwrap_or_default().to_string(),
        parent: opt_str(fields, Field::Parent).map(|s| GridCode(s.to_string())),
        geometry: polygons(g, opts)?,
    })])
}

/// A stored atom of a plan.
fn atom(
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let region = match (region_field(fields, Field::Region, "region")?, opts.region) {
        (Some(r), _) | (None, Some(r)) => r,
        (None, None) => return err("region", "missing: name it with --region"),
    };
    let atom_id: u32 =
        parse_num(fields, Field::Id, "id")?.ok_or_else(|| (Some("id".into()), "missing".into()))?;
    let kind = match opt_str(fields, Field::Kind) {
        None => AtomKind::Block,
        Some(k) => AtomKind::parse(k)
            .ok_or_else(|| (Some("kind".into()), format!("unknown atom kind {k:?}")))?,
    };
    Ok(vec![Record::Atom(Atom {
        id: atom_id,
        region,
        kind,
        geometry: polygons(g, opts)?,
    })])
}

/// Roads: one record per line of the feature, the first keeping its id.
fn roads(
    id: i64,
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let detail = opt_str(fields, Field::ClassDetail);
    let class_s = opt_str(fields, Field::Class);
    let class = detail
        .and_then(RoadClass::parse)
        .or_else(|| class_s.and_then(RoadClass::parse))
        .or_else(|| (detail == Some("pier")).then_some(RoadClass::Path));
    let Some(class) = class else {
        return err(
            "class",
            format!("unknown road class {:?}", detail.or(class_s).unwrap_or("")),
        );
    };
    let name = opt_str(fields, Field::Name).unwrap_or_default();
    let grade = match opt_str(fields, Field::Grade) {
        None => Grade::Surface,
        Some(s) => Grade::parse(s).ok_or_else(|| {
            (
                Some("grade".to_string()),
                format!("unknown grade {s:?} (surface, tunnel or bridge)"),
            )
        })?,
    };
    Ok(lines(g, opts)?
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Record::Road(Road {
                id: if i == 0 { id } else { 0 },
                class,
                name: name.to_string(),
                grade,
                geometry: l,
            })
        })
        .collect())
}

/// A building footprint with plausible levels and height.
fn building(
    id: i64,
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let levels: Option<f64> = parse_num(fields, Field::Levels, "levels")?;
    let height: Option<f64> = parse_num(fields, Field::Height, "height")?;
    if let Some(h) = height.filter(|h| !(0.0..=1000.0).contains(h)) {
        return err(
            "height",
            format!("{h} m is not a plausible building height"),
        );
    }
    Ok(vec![Record::Building(Building {
        id,
        levels: levels
            .filter(|l| (0.0..=200.0).contains(l))
            .map(|l| l.round() as u16),
        height_m: height,
        kind: opt_str(fields, Field::Kind).unwrap_or("yes").to_string(),
        geometry: polygons(g, opts)?,
    })])
}

/// Water: rivers as lines (one record per line), areas as polygons.
fn water(
    id: i64,
    g: &RawGeometry,
    fields: &dyn Fields,
    opts: &ImportOptions,
) -> Result<Vec<Record>, BuildError> {
    let name = opt_str(fields, Field::Name).unwrap_or_default().to_string();
    Ok(match g {
        RawGeometry::Lines(_) => lines(g, opts)?
            .into_iter()
            .enumerate()
            .map(|(i, l)| {
                Record::Water(Water {
                    id: if i == 0 { id } else { 0 },
                    kind: WaterKind::River,
                    name: name.clone(),
                    geometry: Geometry::LineString(l),
                })
            })
            .collect(),
        RawGeometry::Polygons(_) => {
            vec![Record::Water(Water {
                id,
                kind: WaterKind::Area,
                name,
                geometry: Geometry::MultiPolygon(polygons(g, opts)?),
            })]
        }
        other => {
            return geom_err(format!(
                "expected a line or a polygon, found {}",
                other.kind()
            ))
        }
    })
}

/// True when a feature of `layer` can have this geometry at all (used to
/// pass over label points of buildings in multi-layer files).
pub fn geometry_fits(layer: Layer, g: &RawGeometry) -> bool {
    matches!(
        (layer, g),
        (Layer::Households | Layer::People, RawGeometry::Point(_))
            | (Layer::Roads, RawGeometry::Lines(_))
            | (
                Layer::Water,
                RawGeometry::Lines(_) | RawGeometry::Polygons(_)
            )
            | (
                Layer::Regions | Layer::Grids | Layer::Atoms | Layer::Buildings,
                RawGeometry::Polygons(_)
            )
    )
}
