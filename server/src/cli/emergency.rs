//! `wangge emergency nearest|area|plan`: the same answers as the API, on
//! the local store, as the store's owner.

use std::path::PathBuf;

use anyhow::Context;
use geo_types::Coord;

use crate::access::Caller;
use crate::api::emergency::{AreaSpec, Circle, PlanRequest};
use crate::emergency::area;
use crate::emergency::Filter;
use crate::snapshot::Snapshot;
use crate::store::gpkg::GeoPackage;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct AreaArgs {
    /// A GeoJSON file holding the hazard polygon (a Feature, geometry or
    /// FeatureCollection; the first polygon is used), WGS-84.
    #[arg(long, conflicts_with = "circle")]
    pub geojson: Option<PathBuf>,
    /// A circle: lon,lat,radius_m.
    #[arg(long)]
    pub circle: Option<String>,
    /// Volunteers inside the area or this many metres from it.
    #[arg(long)]
    pub margin_m: Option<f64>,
    /// Required volunteer skills, comma separated.
    #[arg(long, default_value = "")]
    pub skills: String,
    #[arg(long)]
    pub team: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// The nearest available reserve volunteers to a point.
    Nearest {
        #[arg(long, env = "WANGGE_STORE")]
        store: PathBuf,
        #[arg(long, allow_hyphen_values = true)]
        lon: f64,
        #[arg(long, allow_hyphen_values = true)]
        lat: f64,
        #[arg(long, default_value_t = 10)]
        k: usize,
        #[arg(long)]
        radius_m: Option<f64>,
        #[arg(long, default_value = "")]
        skills: String,
        #[arg(long)]
        team: Option<String>,
        /// Straight-line distance even when roads are loaded.
        #[arg(long)]
        line: bool,
    },
    /// What a hazard area holds.
    Area {
        #[arg(long, env = "WANGGE_STORE")]
        store: PathBuf,
        #[command(flatten)]
        area: AreaArgs,
    },
    /// A dispatch plan for the vulnerable households of an area.
    Plan {
        #[arg(long, env = "WANGGE_STORE")]
        store: PathBuf,
        #[command(flatten)]
        area: AreaArgs,
        /// Households per volunteer at most.
        #[arg(long, default_value_t = 3)]
        capacity: usize,
        #[arg(long, default_value_t = 2000.0)]
        max_distance_m: f64,
        /// Send volunteers inside the area too (by default they are
        /// flagged and left out).
        #[arg(long)]
        allow_inside: bool,
        /// json, geojson, csv or html.
        #[arg(long, default_value = "json")]
        format: String,
        /// Write here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

fn skills(s: &str) -> Vec<String> {
    s.split([',', '，', '、'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn snapshot(store: &PathBuf) -> anyhow::Result<Snapshot> {
    anyhow::ensure!(store.exists(), "store {} does not exist", store.display());
    let s =
        GeoPackage::open(store).with_context(|| format!("opening store {}", store.display()))?;
    Ok(Snapshot::build(s.load()?))
}

fn area_spec(a: &AreaArgs) -> anyhow::Result<AreaSpec> {
    if let Some(path) = &a.geojson {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let gj: geojson::GeoJson = text
            .parse()
            .with_context(|| format!("{}: not GeoJSON", path.display()))?;
        let geom = match gj {
            geojson::GeoJson::Geometry(g) => Some(g),
            geojson::GeoJson::Feature(f) => f.geometry,
            geojson::GeoJson::FeatureCollection(fc) => {
                fc.features.into_iter().find_map(|f| f.geometry)
            }
        };
        return Ok(AreaSpec {
            polygon: Some(geom.with_context(|| format!("{}: no geometry", path.display()))?),
            circle: None,
        });
    }
    let c = a
        .circle
        .as_deref()
        .context("give --geojson FILE or --circle lon,lat,radius_m")?;
    let v: Vec<f64> = c
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--circle {c:?}: lon,lat,radius_m"))?;
    anyhow::ensure!(v.len() == 3, "--circle {c:?}: lon,lat,radius_m");
    Ok(AreaSpec {
        polygon: None,
        circle: Some(Circle {
            lon: v[0],
            lat: v[1],
            radius_m: v[2],
        }),
    })
}

fn care_names() -> Vec<String> {
    crate::domain::Policy::default()
        .care_levels
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

#[allow(
    clippy::too_many_lines,
    reason = "one match over the subcommand's forms (nearest, area, plan, report), each a few lines on the same loaded state"
)]
pub fn run(args: Args) -> anyhow::Result<()> {
    let caller = Caller::cli();
    match args.command {
        Command::Nearest {
            store,
            lon,
            lat,
            k,
            radius_m,
            skills: sk,
            team,
            line,
        } => {
            crate::io::validate::check_position(lon, lat, crate::spatial::crs::Crs::Wgs84)
                .map_err(anyhow::Error::msg)?;
            let s = snapshot(&store)?;
            let filter = Filter {
                skills: skills(&sk),
                team,
                reserve: Some(true),
            };
            let people = s.people.items();
            let walk = !line && s.emergency.has_network();
            let found = s.emergency.nearest(
                people,
                Coord { x: lon, y: lat },
                k,
                radius_m,
                &filter,
                walk,
                &caller.scope,
            );
            println!(
                "{:<8} {:<10} {:<13} {:>10} {:>10}  {}",
                "id", "name", "phone", "straight_m", "walk_m", "skills / team"
            );
            for f in found {
                let p = &people[f.person];
                println!(
                    "{:<8} {:<10} {:<13} {:>10.0} {:>10}  {} / {}",
                    p.id,
                    p.name,
                    p.phone,
                    f.straight_m,
                    f.walk_m.map_or("-".into(), |w| format!("{w:.0}")),
                    p.skills.join("、"),
                    p.team.as_deref().unwrap_or("-")
                );
            }
        }
        Command::Area { store, area: a } => {
            let spec = area_spec(&a)?;
            let area = spec.parse().map_err(anyhow::Error::msg)?;
            let s = snapshot(&store)?;
            let filter = Filter {
                skills: skills(&a.skills),
                team: a.team.clone(),
                reserve: Some(true),
            };
            let report = area::report(
                &s,
                &area,
                a.margin_m.unwrap_or(500.0),
                &filter,
                &caller,
                &care_names(),
                &crate::cancel::Cancel::never(),
            )?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Plan {
            store,
            area: a,
            capacity,
            max_distance_m,
            allow_inside,
            format,
            out,
        } => {
            let req = PlanRequest {
                area: area_spec(&a)?,
                capacity: Some(capacity),
                max_distance_m: Some(max_distance_m),
                min_care: None,
                margin_m: a.margin_m,
                skills: skills(&a.skills),
                team: a.team.clone(),
                walk: None,
                allow_inside: Some(allow_inside),
                format: Some(format.clone()),
                title: None,
                incident: None,
            };
            let area = req.area.parse().map_err(anyhow::Error::msg)?;
            let params = req.params().map_err(anyhow::Error::msg)?;
            let s = snapshot(&store)?;
            let plan = area::plan(
                &s,
                &area,
                &params,
                &caller,
                &care_names(),
                &crate::cancel::Cancel::never(),
            )
            .map_err(crate::api::ApiError::from)
            .map_err(anyhow::Error::msg)?;
            // What people read on the sheet: local time, to the minute.
            let at = crate::api::when::now_for_people();
            let text = match format.as_str() {
                "json" => serde_json::to_string_pretty(&plan)?,
                "geojson" => crate::emergency::output::geojson(&plan).to_string(),
                "csv" => crate::emergency::output::csv(&plan, "cli", &at),
                "html" => crate::emergency::output::html(&plan, "应急走访调度单", "cli", &at),
                o => anyhow::bail!("--format {o:?}: json, geojson, csv or html"),
            };
            match out {
                Some(p) => {
                    std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
                    eprintln!(
                        "{} households, {} served by {} volunteers, {:.0} m in all → {}",
                        plan.households,
                        plan.served,
                        plan.routes.len(),
                        plan.total_travel_m,
                        p.display()
                    );
                }
                None => println!("{text}"),
            }
        }
    }
    Ok(())
}
