//! `wangge plan list|show|diff|publish|export`: plan versions from the
//! command line, as the store's owner.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;

use crate::domain::Record;
use crate::domain::{ImportedGrid, Plan, PlanVersion, RegionCode};
use crate::edit;
use crate::partition::plan::{grounds, RegionPlan};
use crate::snapshot::Snapshot;
use crate::store::Backend;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
    /// The GeoPackage file or a `postgres://` URL.
    #[arg(long, env = "WANGGE_STORE", global = true)]
    pub store: Option<String>,
    /// Policy preset or TOML file (levels, code widths).
    #[arg(long, default_value = "ankang", global = true)]
    pub policy: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Versions of every region's plan (or one region's), oldest first.
    List {
        #[arg(long)]
        region: Option<String>,
        /// table or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// A version's figures per level and grid.
    Show {
        id: i64,
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// How version B differs from version A.
    Diff {
        a: i64,
        b: i64,
        /// table, json or geojson (the atoms that changed grid).
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Publishes a region's newest version (codes kept, new grids numbered
    /// after every code ever published).
    Publish {
        id: i64,
        #[arg(long)]
        message: Option<String>,
    },
    /// Writes a version's grids (geojson, gpkg) or its households per grid
    /// (csv).
    Export {
        id: i64,
        #[arg(long)]
        format: String,
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let spec = args
        .store
        .as_deref()
        .context("--store (or WANGGE_STORE) is required")?;
    let store = super::open_existing(spec)?;
    let policy = super::load_policy(&args.policy)?;
    match args.command {
        Command::List { region, format } => list(&*store, region.as_deref(), &format),
        Command::Show { id, format } => {
            let (s, plan) = loaded(&*store, id)?;
            let rp = evaluate(&s, &policy, &plan)?;
            show(&rp, &format)
        }
        Command::Diff { a, b, format } => {
            let (s, pa) = loaded(&*store, a)?;
            let pb = store.plan(b)?.with_context(|| format!("no plan {b}"))?;
            let d = edit::diff(&pa, &pb).with_context(|| {
                format!("plans {a} and {b} are not over the same atoms (a plan generated afresh cut its region again)")
            })?;
            let rp = evaluate(&s, &policy, &pa)?;
            diff(&rp, &pa.atoms, (a, b), &d, &format)
        }
        Command::Publish { id, message } => publish(&*store, &policy, id, message),
        Command::Export { id, format, out } => {
            let (s, plan) = loaded(&*store, id)?;
            let rp = evaluate(&s, &policy, &plan)?;
            export(&s, &rp, &format, &out)
        }
    }
}

fn loaded(store: &dyn Backend, id: i64) -> anyhow::Result<(Snapshot, Plan)> {
    let plan = store.plan(id)?.with_context(|| format!("no plan {id}"))?;
    Ok((Snapshot::build(store.load()?), plan))
}

fn evaluate(
    s: &Snapshot,
    policy: &crate::domain::Policy,
    plan: &Plan,
) -> anyhow::Result<std::sync::Arc<RegionPlan>> {
    s.evaluated(policy, plan).with_context(|| {
        format!(
            "plan {} no longer matches its region's atoms",
            plan.version.id
        )
    })
}

fn list(store: &dyn Backend, region: Option<&str>, format: &str) -> anyhow::Result<()> {
    let regions: Vec<RegionCode> = match region {
        Some(r) => vec![r
            .parse()
            .map_err(|e| anyhow::anyhow!("--region {r}: {e}"))?],
        None => store.regions()?.iter().map(|r| r.code).collect(),
    };
    let mut all: Vec<PlanVersion> = Vec::new();
    for r in regions {
        all.extend(store.plan_versions(r)?);
    }
    match format {
        "json" => println!("{}", serde_json::to_string_pretty(&all)?),
        "table" => {
            println!(
                "{:>6} {:<13} {:>4} {:>6} {:<9} {:<20} {:<16} message",
                "id", "region", "no", "parent", "published", "created", "author"
            );
            for v in &all {
                println!(
                    "{:>6} {:<13} {:>4} {:>6} {:<9} {:<20} {:<16} {}",
                    v.id,
                    v.region.to_string(),
                    v.number,
                    v.parent.map_or("-".into(), |p| p.to_string()),
                    if v.published { "yes" } else { "" },
                    v.created_at,
                    v.author,
                    v.message
                );
            }
        }
        f => anyhow::bail!("--format {f}: table or json"),
    }
    Ok(())
}

fn show(rp: &RegionPlan, format: &str) -> anyhow::Result<()> {
    match format {
        "json" => {
            let grids: Vec<_> = rp
                .grids
                .iter()
                .map(|g| json!({ "code": g.code, "level": g.level, "parent": g.parent, "metrics": g.metrics }))
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({
                    "version": rp.version,
                    "region": rp.region.to_string(),
                    "households": rp.households,
                    "levels": rp.levels,
                    "grids": grids,
                }))?
            );
        }
        "table" => {
            if let Some(v) = &rp.version {
                println!(
                    "plan {} of region {} (version {}, {}{})",
                    v.id,
                    v.region,
                    v.number,
                    v.author,
                    if v.published { ", published" } else { "" }
                );
            }
            println!(
                "{:<22} {:>5} {:>10} {:>9} {:>7}",
                "grid", "level", "households", "deviation", "pp"
            );
            for g in &rp.grids {
                println!(
                    "{:<22} {:>5} {:>10} {:>+8.0}% {:>7.3}{}",
                    g.code.as_str(),
                    g.level.get(),
                    g.metrics.households,
                    g.metrics.deviation * 100.0,
                    g.metrics.polsby_popper,
                    if g.metrics.in_range {
                        ""
                    } else {
                        "  out of range"
                    }
                );
            }
        }
        f => anyhow::bail!("--format {f}: table or json"),
    }
    Ok(())
}

fn diff(
    rp: &RegionPlan,
    ids: &[crate::domain::AtomId],
    (a, b): (i64, i64),
    d: &edit::Diff,
    format: &str,
) -> anyhow::Result<()> {
    let moved_households = d.households_moved(rp.ledger.households());
    match format {
        "json" => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "from": a, "to": b, "levels": d.levels,
                "atoms_moved": d.moved.len(), "households_moved": moved_households,
            }))?
        ),
        "geojson" => println!("{}", d.features(rp, ids)),
        "table" => {
            println!(
                "plan {a} → plan {b}: {} atoms and {moved_households} households changed grid",
                d.moved.len()
            );
            for l in &d.levels {
                let list = |v: &[crate::domain::GridCode]| {
                    v.iter()
                        .map(crate::domain::GridCode::as_str)
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                println!(
                    "level {}: {} added {}, {} retired {}, {} changed {}",
                    l.level,
                    l.added.len(),
                    list(&l.added),
                    l.retired.len(),
                    list(&l.retired),
                    l.changed.len(),
                    list(&l.changed)
                );
            }
        }
        f => anyhow::bail!("--format {f}: table, json or geojson"),
    }
    Ok(())
}

fn publish(
    store: &dyn Backend,
    policy: &crate::domain::Policy,
    id: i64,
    message: Option<String>,
) -> anyhow::Result<()> {
    let plan = store.plan(id)?.with_context(|| format!("no plan {id}"))?;
    let region = plan.version.region;
    let mut history = Vec::new();
    for v in store.plan_versions(region)? {
        if v.published {
            history.extend(store.plan(v.id)?);
        }
    }
    let mut next = edit::publish(&plan, &history, policy.code_widths);
    next.version = PlanVersion {
        published: true,
        created_at: crate::api::auth::timestamp(0),
        ..PlanVersion::unsaved(
            region,
            "cli",
            &message.unwrap_or_else(|| format!("published plan {id}")),
            Some(id),
        )
    };
    let line = super::cli_audit(
        "plan_publish",
        &format!("plans/{id}"),
        &next.version.message,
    );
    // The published grids are written with the version, in one transaction.
    let s = Snapshot::build(store.load()?);
    let shapes = match s.evaluate_unsaved(policy, &next, &[]) {
        Ok(rp) => crate::store::PlanGridShape::of(&rp),
        Err(e) => {
            tracing::warn!(plan = id, error = %e, "plan not evaluated: published without grid shapes");
            Vec::new()
        }
    };
    let v = store.save_plan_on(&next, &[], id, &line, &shapes)?;
    println!(
        "published plan {id} as plan {} (version {})",
        v.id, v.number
    );
    for l in 0..3 {
        for (a, b) in plan.codes[l].iter().zip(&next.codes[l]) {
            if a != b {
                println!("  {a} → {b}");
            }
        }
    }
    Ok(())
}

fn export(
    s: &Snapshot,
    rp: &RegionPlan,
    format: &str,
    out: &std::path::Path,
) -> anyhow::Result<()> {
    let id = rp.version.as_ref().map_or(0, |v| v.id);
    match format {
        "geojson" => {
            let features: Vec<_> = rp
                .grids
                .iter()
                .map(|g| {
                    json!({
                        "type": "Feature",
                        "id": g.code,
                        "geometry": geojson::Geometry::from(&g.geometry),
                        "properties": { "code": g.code, "level": g.level, "parent": g.parent, "plan": id, "metrics": g.metrics },
                    })
                })
                .collect();
            std::fs::write(
                out,
                json!({ "type": "FeatureCollection", "features": features }).to_string(),
            )
            .with_context(|| format!("writing {}", out.display()))?;
        }
        "gpkg" => {
            // A GeoPackage of our own layout: the grids in its `grids`
            // table, which GDAL and QGIS open as a layer.
            anyhow::ensure!(!out.exists(), "{} exists already", out.display());
            let g = crate::store::gpkg::GeoPackage::open(out)
                .with_context(|| format!("creating {}", out.display()))?;
            let mut recs = rp.grids.iter().enumerate().map(|(i, gr)| {
                Ok(Record::Grid(ImportedGrid {
                    id: i as i64 + 1,
                    region: rp.region,
                    level: gr.level,
                    code: gr.code.clone(),
                    name: gr.code.to_string(),
                    parent: gr.parent.clone(),
                    geometry: gr.geometry.clone(),
                }))
            });
            crate::store::Store::import(&g, &mut recs)?;
        }
        "csv" => {
            // One row per household: which grid holds it at each level.
            let ground = grounds(
                s.regions.items(),
                &[],
                &[],
                s.households.iter(),
                Some(rp.region),
            )
            .into_iter()
            .find(|g| g.region.code == rp.region)
            .context("the plan's region is gone")?;
            let mut f = std::io::BufWriter::new(
                std::fs::File::create(out).with_context(|| format!("writing {}", out.display()))?,
            );
            writeln!(f, "household,region,level1,level2,level3")?;
            for (i, h) in ground.households.iter().enumerate() {
                let codes: Vec<&str> = match rp.ledger.atom_of_household(i) {
                    Some(a) => (0..rp.labels.len())
                        .map(|l| rp.codes[l][rp.labels[l][a] as usize].as_str())
                        .collect(),
                    None => vec![""; rp.labels.len()],
                };
                let codes: Vec<String> = codes
                    .iter()
                    .map(|c| crate::io::cell::csv_field(c))
                    .collect();
                writeln!(f, "{},{},{}", h.id, rp.region, codes.join(","))?;
            }
            f.flush()?;
        }
        f => anyhow::bail!("--format {f}: geojson, gpkg or csv"),
    }
    println!("wrote {}", out.display());
    Ok(())
}
