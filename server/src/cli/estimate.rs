//! `wangge estimate`: households on real ground, flagged as estimated.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use geo_types::Coord;
use serde::Deserialize;

use crate::domain::{Layer, Record};
use crate::estimate::{buildings, census};
use crate::io::{self, ImportOptions};
use crate::spatial::crs::Crs;
use crate::spatial::placement::RegionIndex;
use crate::store::gpkg::GeoPackage;
use crate::store::Store;

/// Arguments of `wangge estimate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub method: Method,
}

#[derive(Debug, clap::Subcommand)]
pub enum Method {
    /// From the store's building footprints: storeys (or height / 3 m) ×
    /// area × residential share of the building's use / dwelling area.
    /// Buildings that house nobody (schools, libraries, offices, shops,
    /// hotels, factories) are skipped and counted.
    Buildings {
        #[arg(long, env = "WANGGE_STORE")]
        store: PathBuf,
        /// Average floor area per dwelling, m².
        #[arg(long, default_value_t = 90.0)]
        dwelling_m2: f64,
        /// Persons per household recorded on each estimate.
        #[arg(long, default_value_t = 3)]
        household_size: u8,
        /// Residential share of floor area by building kind or use,
        /// overriding the defaults (residential 1, mixed 0.5, unknown/yes
        /// 0.7, every non-residential use 0): e.g. `yes=0.5,mixed=0.4`.
        #[arg(long, default_value = "")]
        residential_share: String,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Macau: the 2021 census population of each parish spread over its
    /// ~100 m cells by floor area, divided by the household size.
    Macau {
        /// Directory with the real data (`../shared/data/real`).
        #[arg(long)]
        data: PathBuf,
        /// The GeoPackage to create.
        #[arg(long)]
        out: PathBuf,
        /// Average persons per household (an assumption; set it from the
        /// census table you trust).
        #[arg(long, default_value_t = 2.8)]
        household_size: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Replace the file when it exists.
        #[arg(long)]
        force: bool,
    },
}

#[allow(
    clippy::too_many_lines,
    reason = "one match over the estimate methods (census, buildings), each reading its inputs"
)]
pub fn run(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    match args.method {
        Method::Buildings {
            store,
            dwelling_m2,
            household_size,
            residential_share,
            seed,
        } => {
            let shares = residential_share
                .split(',')
                .filter(|kv| !kv.trim().is_empty())
                .map(|kv| {
                    let (k, v) = kv
                        .split_once('=')
                        .with_context(|| format!("--residential-share {kv:?}: kind=share"))?;
                    let v: f64 = v
                        .trim()
                        .parse()
                        .ok()
                        .filter(|v| (0.0..=1.0).contains(v))
                        .with_context(|| {
                            format!("--residential-share {kv:?}: a share from 0 to 1")
                        })?;
                    Ok((k.trim().to_string(), v))
                })
                .collect::<anyhow::Result<std::collections::HashMap<_, _>>>()?;
            let store = GeoPackage::open(&store)
                .with_context(|| format!("opening store {}", store.display()))?;
            let data = store.load()?;
            anyhow::ensure!(
                !data.buildings.is_empty(),
                "the store has no buildings: import some first"
            );
            let p = buildings::Params {
                dwelling_m2,
                household_size,
                seed,
                shares,
                ..buildings::Params::default()
            };
            let first = data.households.iter().map(|h| h.id).max().unwrap_or(0) + 1;
            let (mut hs, skipped) = buildings::estimate(&data.buildings, &p, first);
            let index = RegionIndex::new(
                &data
                    .regions
                    .iter()
                    .map(|r| (r.code, r.boundary.clone()))
                    .collect::<Vec<_>>(),
            );
            for h in &mut hs {
                h.region = index.locate(h.location);
            }
            let n = hs.len();
            let audit = super::cli_audit(
                "estimate",
                "buildings",
                &format!("{dwelling_m2} m² per dwelling, seed {seed}"),
            );
            store.import_audited(
                &mut hs.into_iter().map(|h| Ok(Record::Household(h))),
                &audit,
            )?;
            println!(
                "estimated {n} households from {} buildings ({dwelling_m2} m² per dwelling), flagged estimated, in {:.1} s",
                data.buildings.len(),
                started.elapsed().as_secs_f64()
            );
            if skipped.buildings() > 0 {
                println!("{}", skipped.describe());
            }
        }
        Method::Macau {
            data,
            out,
            household_size,
            seed,
            force,
        } => {
            let files = [
                "macau_parishes_gcj02.geojson",
                "macau_census_2021_population.json",
                "macau_floor_area_100m_osm.geojson",
            ];
            for f in files {
                anyhow::ensure!(
                    data.join(f).exists(),
                    "the Macau data is absent: {} not found (it ships in ../shared/data/real)",
                    data.join(f).display()
                );
            }
            if out.exists() {
                anyhow::ensure!(
                    force,
                    "{} exists: pass --force to replace it",
                    out.display()
                );
                std::fs::remove_file(&out)?;
            }
            let opts = ImportOptions {
                crs: Crs::Gcj02,
                ..ImportOptions::default()
            };
            let regions: Vec<crate::domain::Region> =
                io::read(&data.join(files[0]), Some(Layer::Regions), &opts)?
                    .map(|r| match r {
                        Ok(Record::Region(r)) => Ok(r),
                        Ok(_) => anyhow::bail!("unexpected record"),
                        Err(e) => Err(e.into()),
                    })
                    .collect::<anyhow::Result<_>>()?;
            let population = read_census(&data.join(files[1]))?;
            let tallies: Vec<census::Tally> = regions
                .iter()
                .map(|r| census::Tally {
                    code: r.code,
                    boundary: r.boundary.clone(),
                    population: population.get(&r.name).copied().unwrap_or(0),
                })
                .collect();
            let cells = read_cells(&data.join(files[2]))?;
            let (households, summary) = census::estimate(&tallies, &cells, household_size, seed);
            let n = households.len();
            let store =
                GeoPackage::open(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut records = regions
                .into_iter()
                .map(Record::Region)
                .chain(households.into_iter().map(Record::Household))
                .map(Ok);
            let audit = super::cli_audit(
                "estimate",
                "macau",
                &format!("{household_size} persons per household, seed {seed}"),
            );
            store.import_audited(&mut records, &audit)?;
            println!(
                "Macau: 8 parishes, {n} households estimated from {} floor-area cells ({} outside every parish) and the 2021 census, {household_size} persons per household, flagged estimated, in {:.1} s",
                cells.len(),
                summary.cells_outside,
                started.elapsed().as_secs_f64()
            );
            // The cells carry floor area only, no building use: nothing
            // can be taken out for non-residential buildings here (see
            // census::without_non_residential for data that has them).
            println!("floor area as given by the cells (they carry no building use): no non-residential floor area taken out");
            for code in summary.regions_without_floor_area {
                println!("warning: parish {code} has population but no floor area");
            }
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct Census {
    freguesias: Vec<Parish>,
}

#[derive(Deserialize)]
struct Parish {
    name: String,
    population: u64,
}

/// Census population by parish name.
pub fn read_census(path: &Path) -> anyhow::Result<std::collections::HashMap<String, u64>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let c: Census = serde_json::from_str(&text)
        .with_context(|| format!("{}: not the census table", path.display()))?;
    Ok(c.freguesias
        .into_iter()
        .map(|p| (p.name, p.population))
        .collect())
}

/// The floor-area cells (WGS-84 polygons with `floor_area`).
pub fn read_cells(path: &Path) -> anyhow::Result<Vec<census::Cell>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let fc: geojson::FeatureCollection = text
        .parse()
        .with_context(|| format!("{}: not GeoJSON", path.display()))?;
    fc.features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let props = f.properties.as_ref();
            let num = |k: &str| {
                props
                    .and_then(|p| p.get(k))
                    .and_then(serde_json::Value::as_f64)
            };
            let geometry = f
                .geometry
                .with_context(|| format!("cell {i}: no geometry"))?;
            let polygon: geo_types::Geometry<f64> = geometry
                .try_into()
                .with_context(|| format!("cell {i}: bad geometry"))?;
            let polygon = match polygon {
                geo_types::Geometry::Polygon(p) => geo_types::MultiPolygon(vec![p]),
                geo_types::Geometry::MultiPolygon(m) => m,
                _ => anyhow::bail!("cell {i}: not a polygon"),
            };
            let centre = match (num("cell_lon"), num("cell_lat")) {
                (Some(x), Some(y)) => Coord { x, y },
                _ => {
                    geo::Centroid::centroid(&polygon)
                        .with_context(|| format!("cell {i}: empty"))?
                        .0
                }
            };
            Ok(census::Cell {
                polygon,
                centre,
                floor_area: num("floor_area").unwrap_or(0.0),
            })
        })
        .collect()
}
