//! `wangge import <layer|all> <file>`: one file into the store, in one
//! transaction, with households and people placed in their regions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::{Layer, Record};
use crate::io::{self, Columns, ImportOptions};
use crate::spatial::crs::Crs;
use crate::spatial::placement::RegionIndex;

/// Arguments of `wangge import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Layer to import (regions, households, people, roads, buildings,
    /// water, grids, atoms), or `all` for multi-layer GeoJSON and OSM PBF.
    pub layer: String,
    /// GeoJSON (.geojson/.json), CSV (.csv), XLSX (.xlsx) or OSM PBF (.osm.pbf).
    pub file: PathBuf,
    /// The GeoPackage file (created when missing) or a `postgres://` URL.
    #[arg(long, env = "WANGGE_STORE")]
    pub store: String,
    /// CRS of the file's coordinates: wgs84, cgcs2000, gcj02 or bd09.
    #[arg(long)]
    pub crs: Crs,
    /// Store the good records and report every bad one (default: store
    /// nothing when any record is bad).
    #[arg(long)]
    pub skip_invalid: bool,
    /// CSV encoding (utf-8 or gb18030); detected when not given.
    #[arg(long)]
    pub encoding: Option<String>,
    /// Policy preset or TOML file, for care-level names.
    #[arg(long, default_value = "ankang")]
    pub policy: String,
    /// Keep only the part of regions and grids inside this WGS-84 box
    /// (`west,south,east,north`, after conversion); those wholly outside
    /// are left out. For a district cut to the extent of the data loaded.
    #[arg(long, value_parser = parse_clip)]
    pub clip: Option<geo_types::Rect<f64>>,
    /// Region code for grids and atoms whose records carry none.
    #[arg(long)]
    pub region: Option<String>,
    #[command(flatten)]
    pub columns: Columns,
}

#[allow(
    clippy::too_many_lines,
    reason = "the import's script in order (layer, options, placement, clip, audit, report) around one match over layers"
)]
pub fn run(args: Args) -> anyhow::Result<()> {
    let layer = match args.layer.as_str() {
        "all" => None,
        l => Some(Layer::parse(l).with_context(|| {
            format!(
                "unknown layer {l:?}: use one of {} or all",
                Layer::ALL.map(Layer::as_str).join(", ")
            )
        })?),
    };
    let encoding = args
        .encoding
        .as_deref()
        .map(io::encoding)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let opts = ImportOptions {
        crs: args.crs,
        skip_invalid: args.skip_invalid,
        columns: args.columns,
        encoding,
        policy: super::load_policy(&args.policy)?,
        region: args
            .region
            .as_deref()
            .map(str::parse)
            .transpose()
            .context("--region")?,
        passed_over: io::PassedOver::default(),
        row: io::RowCursor::default(),
    };
    let started = Instant::now();
    let store = crate::store::open(&args.store).with_context(|| {
        format!(
            "opening store {}",
            crate::store::postgis::redact_spec(&args.store)
        )
    })?;
    let regions: Vec<_> = store
        .regions()?
        .into_iter()
        .map(|r| (r.code, r.boundary))
        .collect();
    let index = RegionIndex::new(&regions);

    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg} {pos} records ({per_sec}, {elapsed})")
            .expect("template"),
    );
    bar.set_message(format!("importing {}", args.file.display()));
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut unplaced = 0u64;
    let mut stream = io::read(&args.file, layer, &opts)?;
    if let Some(clip) = args.clip {
        let passed = opts.passed_over.clone();
        stream = Box::new(stream.filter_map(move |r| match r {
            Ok(rec) => {
                let layer = rec.layer();
                let kept = clip_record(rec, clip);
                if kept.is_none() {
                    passed.note(&format!("{layer}: outside --clip"));
                }
                kept.map(Ok)
            }
            Err(e) => Some(Err(e)),
        }));
    }
    let mut each = |r: &mut Record| {
        bar.inc(1);
        if index.is_empty() {
            return;
        }
        let (region, at) = match r {
            Record::Household(h) => (&mut h.region, h.location),
            Record::Person(p) => (&mut p.region, p.home),
            _ => return,
        };
        if region.is_none() {
            *region = index.locate(at);
            unplaced += u64::from(region.is_none());
        }
    };
    let audit = super::cli_audit(
        "import",
        &args.layer,
        &format!("{} (crs {})", args.file.display(), args.crs),
    );
    let report = io::import(&*store, stream, &opts, &audit, &mut each);
    bar.finish_and_clear();
    let report = report?;
    for (layer, n) in &report.counts {
        println!("{layer}: {n} stored");
    }
    if report.counts.is_empty() {
        println!(
            "nothing stored: the file holds no records of {}",
            args.layer
        );
    }
    if unplaced > 0 {
        println!("{unplaced} households/people lie in no known region");
    }
    if !report.passed_over.is_empty() {
        let total: u64 = report.passed_over.values().sum();
        println!("{total} feature(s) passed over:");
        for (reason, n) in &report.passed_over {
            println!("  {n} {reason}");
        }
    }
    if report.skipped_total > 0 {
        println!("{} bad record(s) skipped:", report.skipped_total);
        for e in &report.skipped {
            println!("  {e}");
        }
        if report.skipped_total > report.skipped.len() as u64 {
            println!(
                "  … and {} more",
                report.skipped_total - report.skipped.len() as u64
            );
        }
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn parse_clip(s: &str) -> Result<geo_types::Rect<f64>, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{s:?}: {e}"))?;
    match v[..] {
        [w, south, e, n] if w < e && south < n => Ok(geo_types::Rect::new((w, south), (e, n))),
        _ => Err(format!(
            "{s:?}: west,south,east,north with west < east and south < north"
        )),
    }
}

/// A region or grid cut to the box (`None` when nothing is left); other
/// records pass.
fn clip_record(rec: Record, clip: geo_types::Rect<f64>) -> Option<Record> {
    use geo::{Area, BooleanOps};
    let cut = |g: &geo_types::MultiPolygon<f64>| {
        let out = g.intersection(&geo_types::MultiPolygon(vec![clip.to_polygon()]));
        (out.unsigned_area() > 0.0).then_some(out)
    };
    match rec {
        Record::Region(mut r) => {
            r.boundary = cut(&r.boundary)?;
            Some(Record::Region(r))
        }
        Record::Grid(mut g) => {
            g.geometry = cut(&g.geometry)?;
            Some(Record::Grid(g))
        }
        other => Some(other),
    }
}
