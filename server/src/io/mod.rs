//! Import and export: GeoJSON, CSV/XLSX, OSM PBF; [`cell`] makes every
//! spreadsheet cell we write safe to open.
//!
//! Importers turn a file into a stream of [`Record`]s or [`RecordError`]s
//! (never a panic, never a half-built record); [`import`] feeds the good
//! ones to the store in one transaction and decides, from the options,
//! whether bad ones abort everything (the default) or are skipped.

mod build;
pub mod cell;
pub mod csv;
pub mod feature;
pub mod geojson;
pub mod osm;
pub mod tags;
pub mod validate;
pub mod xlsx;

use std::fmt;
use std::path::Path;

use crate::domain::{Layer, Record};
use crate::domain::{Policy, RegionCode};
use crate::spatial::crs::Crs;
use crate::store::{Abort, ImportCounts, Store, StoreError};

pub use build::Columns;

/// How to read a file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The CRS of the file's coordinates; converted to WGS-84 on the way in.
    pub crs: Crs,
    /// Store the good records and report the bad ones.
    pub skip_invalid: bool,
    pub columns: Columns,
    /// CSV text encoding; `None` detects (BOM, valid UTF-8, else GB18030).
    pub encoding: Option<&'static encoding_rs::Encoding>,
    /// For care-level names.
    pub policy: Policy,
    /// Region code for records that carry none (grids, atoms).
    pub region: Option<RegionCode>,
    /// Where readers count what they pass over on purpose.
    pub passed_over: PassedOver,
    /// Where table readers say which row the record last read came from.
    pub row: RowCursor,
}

/// The 1-based line (CSV) or row (sheet) of the record a table reader
/// yielded last, so that a consumer checking good records against other
/// data (duplicates, scope) can name their row. Clones share it.
#[derive(Debug, Clone, Default)]
pub struct RowCursor(std::sync::Arc<std::sync::atomic::AtomicU64>);

impl RowCursor {
    pub fn set(&self, row: u64) {
        self.0.store(row, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Features a reader passes over on purpose, by reason: other layers of a
/// multi-layer file, label and address points of buildings, lines cut at
/// an extract's edge. Not errors, but counted and printed, so that nothing
/// goes missing unsaid. Clones share the tally.
#[derive(Debug, Clone, Default)]
pub struct PassedOver(std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, u64>>>);

impl PassedOver {
    pub fn note(&self, reason: &str) {
        let mut m = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match m.get_mut(reason) {
            Some(n) => *n += 1,
            None => {
                m.insert(reason.to_string(), 1);
            }
        }
    }

    /// Counts by reason so far.
    pub fn counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            crs: Crs::Wgs84,
            skip_invalid: false,
            columns: Columns::default(),
            encoding: None,
            policy: Policy::default(),
            region: None,
            passed_over: PassedOver::default(),
            row: RowCursor::default(),
        }
    }
}

/// Where in a file a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The whole file (unreadable, wrong format).
    File,
    /// 0-based index in a GeoJSON FeatureCollection.
    Feature(usize),
    /// 1-based line of a CSV file (the header is line 1).
    Line(u64),
    /// 1-based row of a spreadsheet, with its sheet.
    Row { sheet: String, row: u64 },
    /// An OSM element.
    Osm { kind: &'static str, id: i64 },
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File => f.write_str("file"),
            Self::Feature(i) => write!(f, "feature {i}"),
            Self::Line(n) => write!(f, "line {n}"),
            Self::Row { sheet, row } => write!(f, "sheet {sheet} row {row}"),
            Self::Osm { kind, id } => write!(f, "{kind} {id}"),
        }
    }
}

/// A bad record: which file, where, which field, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError {
    pub file: String,
    pub location: Location,
    pub field: Option<String>,
    pub problem: String,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.location)?;
        if let Some(field) = &self.field {
            write!(f, ", field {field}")?;
        }
        write!(f, ": {}", self.problem)
    }
}

impl std::error::Error for RecordError {}

/// The records of a file, streamed.
pub type RecordStream = Box<dyn Iterator<Item = Result<Record, RecordError>> + Send>;

/// Errors of the io layer.
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("{0}")]
    File(RecordError),
    #[error("{} bad record(s), nothing was stored:\n{}{}", .total, list(.errors), more(.errors.len(), *.total))]
    Invalid {
        errors: Vec<RecordError>,
        total: u64,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn list(errors: &[RecordError]) -> String {
    errors.iter().take(50).map(|e| format!("  {e}\n")).collect()
}

fn more(shown: usize, total: u64) -> String {
    let shown = shown.min(50) as u64;
    if total > shown {
        format!("  … and {} more\n", total - shown)
    } else {
        String::new()
    }
}

/// What an import stored and what it skipped.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub counts: ImportCounts,
    pub skipped: Vec<RecordError>,
    /// All skipped records, also those not kept in `skipped`.
    pub skipped_total: u64,
    /// Features passed over on purpose, by reason ([`PassedOver`]).
    pub passed_over: std::collections::BTreeMap<String, u64>,
}

/// Bad records kept in memory at most; the rest are only counted.
const MAX_KEPT_ERRORS: usize = 5000;

fn file_error(path: &Path, problem: impl Into<String>) -> IoError {
    IoError::File(RecordError {
        file: path.display().to_string(),
        location: Location::File,
        field: None,
        problem: problem.into(),
    })
}

/// Opens `path` as a stream of records of `layer` (or, with `None`, of every
/// layer the file holds). The format comes from the extension.
pub fn read(
    path: &Path,
    layer: Option<Layer>,
    opts: &ImportOptions,
) -> Result<RecordStream, IoError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !path.is_file() {
        return Err(file_error(path, "no such file"));
    }
    if name.ends_with(".geojson") || name.ends_with(".json") {
        geojson::read(path, layer, opts)
    } else if name.ends_with(".csv") || name.ends_with(".txt") {
        csv::read(path, require_layer(path, layer)?, opts)
    } else if name.ends_with(".xlsx") {
        xlsx::read(path, require_layer(path, layer)?, opts)
    } else if name.ends_with(".pbf") {
        osm::read(path, layer, opts)
    } else {
        Err(file_error(
            path,
            "unknown format: use .geojson/.json, .csv, .xlsx or .osm.pbf",
        ))
    }
}

/// The text encoding a user named (`utf-8`, `gb18030`, any WHATWG label).
pub fn encoding(label: &str) -> Result<&'static encoding_rs::Encoding, String> {
    encoding_rs::Encoding::for_label(label.as_bytes())
        .ok_or_else(|| format!("unknown encoding {label:?}: use utf-8 or gb18030"))
}

/// The format of an uploaded body, from its first bytes (a ZIP archive is
/// a workbook) or, failing that, its media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    Csv,
    Xlsx,
}

impl TableFormat {
    /// XLSX when the body starts as a ZIP archive or the media type names
    /// a spreadsheet; CSV otherwise (plain text in any encoding).
    pub fn detect(bytes: &[u8], content_type: Option<&str>) -> Self {
        let ct = content_type.unwrap_or_default().to_ascii_lowercase();
        if bytes.starts_with(b"PK\x03\x04")
            || ct.contains("spreadsheetml")
            || ct.contains("ms-excel")
        {
            Self::Xlsx
        } else {
            Self::Csv
        }
    }
}

/// Reads a table (CSV or XLSX) of `layer` records held in memory: an
/// upload goes through the same readers as `wangge import`.
pub fn read_table(
    bytes: Vec<u8>,
    format: TableFormat,
    name: &str,
    layer: Layer,
    opts: &ImportOptions,
) -> Result<RecordStream, IoError> {
    match format {
        TableFormat::Csv => csv::read_from(std::io::Cursor::new(bytes), name, layer, opts),
        TableFormat::Xlsx => xlsx::read_bytes(bytes, name, layer, opts),
    }
}

fn require_layer(path: &Path, layer: Option<Layer>) -> Result<Layer, IoError> {
    layer.ok_or_else(|| {
        file_error(
            path,
            "a table holds one layer: name it (e.g. households) instead of all",
        )
    })
}

/// Feeds `stream` to the store in one transaction. `each` sees every good
/// record before it is stored (placement, progress). Without
/// `skip_invalid`, any bad record rolls everything back and every bad record
/// is reported.
pub fn import(
    store: &dyn Store,
    stream: RecordStream,
    opts: &ImportOptions,
    audit: &crate::access::account::AuditEntry,
    each: &mut dyn FnMut(&mut Record),
) -> Result<ImportReport, IoError> {
    let mut errors: Vec<RecordError> = Vec::new();
    let mut total_bad = 0u64;
    let mut stream = stream;
    let skip = opts.skip_invalid;
    let mut done = false;
    let mut adapter = std::iter::from_fn(|| loop {
        if done {
            return None;
        }
        match stream.next() {
            Some(Ok(mut r)) => {
                if total_bad > 0 && !skip {
                    // Keep reading to report every bad record; store nothing more.
                    continue;
                }
                each(&mut r);
                return Some(Ok(r));
            }
            Some(Err(e)) => {
                total_bad += 1;
                if errors.len() < MAX_KEPT_ERRORS {
                    errors.push(e);
                }
            }
            None => {
                done = true;
                return (total_bad > 0 && !skip).then_some(Err(Abort));
            }
        }
    });
    let result = store.import_audited(&mut adapter, audit);
    drop(adapter);
    match result {
        Ok(counts) => Ok(ImportReport {
            counts,
            skipped: errors,
            skipped_total: total_bad,
            passed_over: opts.passed_over.counts(),
        }),
        Err(StoreError::Aborted) => Err(IoError::Invalid {
            errors,
            total: total_bad,
        }),
        Err(e) => Err(e.into()),
    }
}
