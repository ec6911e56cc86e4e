//! Many records at once (issue 20, bulk upsert): the rows of an uploaded
//! table, or a JSON array of households, checked as a whole against the
//! ledger before anything is stored. The dry run's report names each
//! problem by row and field with a stable code; rows that repeat an
//! existing household (by id: an update; by address: refused) are listed;
//! rows outside the writer's scope are refused. No I/O: the rows come from
//! [`crate::io`]'s readers, the store writes what passed in one
//! transaction, the snapshot follows.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::{invalid, may_write, HouseholdFields, LedgerError};
use crate::access::{Caller, Scope};
use crate::domain::{Household, Layer, Person, Policy, Record, RegionCode};
use crate::io::RecordError;
use crate::snapshot::Snapshot;
use crate::spatial::placement::RegionIndex;

/// Problems kept in a report at most; the rest are only counted.
pub const MAX_PROBLEMS: usize = 1000;

/// One problem of one row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The 1-based line of a CSV file (the header is line 1), row of a
    /// sheet, or item of a JSON array; 0 for the whole file.
    pub row: u64,
    pub field: Option<String>,
    /// Stable, for clients: `bad_location`, `out_of_scope`, ...
    pub code: &'static str,
    pub detail: String,
}

/// A row that repeats a household the ledger holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    pub row: u64,
    /// `id` (the row updates that household) or `address` (refused: it
    /// would be a second household at one address and unit).
    pub by: &'static str,
    /// The id of the household already held.
    pub existing: i64,
}

/// What a dry run found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub layer: Option<Layer>,
    /// Rows read (records, good or bad).
    pub rows: u64,
    /// Rows that would be stored.
    pub valid: u64,
    pub creates: u64,
    pub updates: u64,
    /// Rows refused because they lie, or would land, outside the scope.
    pub out_of_scope: u64,
    /// Every problem, counted; `problems` keeps the first [`MAX_PROBLEMS`].
    pub problems_total: u64,
    pub problems: Vec<Problem>,
    pub duplicates: Vec<Duplicate>,
}

impl Report {
    /// True when the whole may be stored.
    pub fn ok(&self) -> bool {
        self.problems_total == 0
    }

    fn problem(&mut self, row: u64, field: Option<&str>, code: &'static str, detail: String) {
        self.problems_total += 1;
        if code == "out_of_scope" {
            self.out_of_scope += 1;
        }
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                row,
                field: field.map(str::to_string),
                code,
                detail,
            });
        }
    }
}

/// A dry run's outcome: the report and the records that passed (placed in
/// their regions), ready for [`commit_plan`].
#[derive(Debug, Clone, Default)]
pub struct Checked {
    pub report: Report,
    /// The good records with their rows, in order.
    pub records: Vec<(u64, Record)>,
}

/// The stable code of a reader's complaint about a row.
fn reader_code(e: &RecordError) -> &'static str {
    match e.field.as_deref() {
        _ if e.problem.contains("swapped") => "swapped_coordinates",
        Some("lon" | "lat" | "geometry") => "bad_location",
        Some("care") => "unknown_care_level",
        Some("size") => "size_out_of_range",
        Some("roles") => "unknown_role",
        Some(_) => "bad_field",
        None => "bad_row",
    }
}

/// An address as compared for duplicates: case and spaces ignored. The
/// unit (单元, 室) is part of the address text.
fn address_key(a: &str) -> Option<String> {
    let k: String = a
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    (!k.is_empty()).then_some(k)
}

/// Checks `records` again (rows as they were) against a newer snapshot: a
/// commit after other writes landed sees what they changed.
pub fn recheck(
    s: &Snapshot,
    caller: &Caller,
    layer: Layer,
    records: &[(u64, Record)],
) -> Result<Checked, LedgerError> {
    let mut check = Check::new(s, caller, layer)?;
    for (row, r) in records {
        check.record(*row, r.clone());
    }
    Ok(check.finish())
}

/// Checks rows one by one against the snapshot and the writer's scope.
pub struct Check<'a> {
    s: &'a Snapshot,
    caller: &'a Caller,
    layer: Layer,
    regions: RegionIndex,
    /// Addresses of the households in the writer's scope (only those, so
    /// that the report discloses nothing outside it).
    addresses: HashMap<String, i64>,
    ids: HashSet<i64>,
    seen_addresses: HashMap<String, u64>,
    out: Checked,
}

impl<'a> Check<'a> {
    /// A check of `layer` rows (households or people) written by `caller`.
    pub fn new(s: &'a Snapshot, caller: &'a Caller, layer: Layer) -> Result<Self, LedgerError> {
        may_write(caller)?;
        if !matches!(layer, Layer::Households | Layer::People) {
            return Err(invalid(
                "bad_layer",
                format!("{layer} cannot be uploaded: households or people"),
            ));
        }
        let regions: Vec<(RegionCode, geo_types::MultiPolygon<f64>)> = s
            .regions
            .items()
            .iter()
            .map(|r| (r.code, r.boundary.clone()))
            .collect();
        let addresses = if layer == Layer::Households {
            s.households
                .query(None, &caller.scope, 0, usize::MAX)
                .items
                .into_iter()
                .filter_map(|h| Some((address_key(&h.address)?, h.id)))
                .collect()
        } else {
            HashMap::new()
        };
        Ok(Self {
            s,
            caller,
            layer,
            regions: RegionIndex::new(&regions),
            addresses,
            ids: HashSet::new(),
            seen_addresses: HashMap::new(),
            out: Checked {
                report: Report {
                    layer: Some(layer),
                    ..Report::default()
                },
                records: Vec::new(),
            },
        })
    }

    /// Rows checked so far.
    pub fn rows(&self) -> u64 {
        self.out.report.rows
    }

    /// A row the reader could not make a record of.
    pub fn bad_row(&mut self, row: u64, e: &RecordError) {
        self.out.report.rows += 1;
        let code = reader_code(e);
        self.out
            .report
            .problem(row, e.field.as_deref(), code, e.problem.clone());
    }

    /// A problem with the row as a whole, found before the checks (a JSON
    /// item's bad field).
    pub fn refused(&mut self, row: u64, e: &LedgerError) {
        self.out.report.rows += 1;
        let (code, detail) = match e {
            LedgerError::Invalid { code, detail } => (*code, detail.clone()),
            LedgerError::OutOfScope(_) | LedgerError::NotFound(_) => {
                ("out_of_scope", e.to_string())
            }
            _ => ("refused", e.to_string()),
        };
        self.out.report.problem(row, None, code, detail);
    }

    /// A record read from row `row`: placed, checked, kept when good.
    pub fn record(&mut self, row: u64, r: Record) {
        self.out.report.rows += 1;
        let before = self.out.report.problems_total;
        let kept = match r {
            Record::Household(h) if self.layer == Layer::Households => {
                self.household(row, h).map(Record::Household)
            }
            Record::Person(p) if self.layer == Layer::People => {
                self.person(row, p).map(Record::Person)
            }
            other => {
                let detail = format!("a {} record in a {} upload", other.layer(), self.layer);
                self.out.report.problem(row, None, "bad_layer", detail);
                None
            }
        };
        if let Some(r) = kept.filter(|_| self.out.report.problems_total == before) {
            self.out.report.valid += 1;
            self.out.records.push((row, r));
        }
    }

    /// The region holding `p`, which must be in scope and agree with the
    /// row's own region when it names one.
    fn land(
        &mut self,
        row: u64,
        p: geo_types::Point<f64>,
        given: Option<RegionCode>,
    ) -> Option<RegionCode> {
        let report = &mut self.out.report;
        let Some(region) = self.regions.locate(p) else {
            let detail = format!(
                "({}, {}) lies in no region of this deployment",
                p.x(),
                p.y()
            );
            report.problem(row, Some("location"), "outside_regions", detail);
            return None;
        };
        if !self.caller.scope.contains(region) {
            let detail = format!("the location lies in region {region}, outside your scope");
            report.problem(row, Some("location"), "out_of_scope", detail);
            return None;
        }
        if given.is_some_and(|g| g != region) {
            let detail = format!(
                "the row names region {} but its location lies in {region}",
                given.unwrap_or(region)
            );
            report.problem(row, Some("region"), "region_mismatch", detail);
            return None;
        }
        Some(region)
    }

    /// The id check both layers share: repeated in the file, or held
    /// outside the scope. Returns whether the row updates a held record.
    fn id(&mut self, row: u64, id: i64, held: Option<(Option<RegionCode>, i64)>) -> Option<bool> {
        if id <= 0 {
            return Some(false);
        }
        let report = &mut self.out.report;
        if !self.ids.insert(id) {
            let detail = format!("id {id} is in the upload more than once");
            report.problem(row, Some("id"), "duplicate_in_upload", detail);
            return None;
        }
        match held {
            None => Some(false),
            Some((region, _)) if !self.caller.scope.contains_opt(region) => {
                let detail =
                    format!("id {id} is not yours to write: it belongs outside your scope");
                report.problem(row, Some("id"), "out_of_scope", detail);
                None
            }
            Some((_, existing)) => {
                report.duplicates.push(Duplicate {
                    row,
                    by: "id",
                    existing,
                });
                Some(true)
            }
        }
    }

    fn household(&mut self, row: u64, mut h: Household) -> Option<Household> {
        let held = self
            .s
            .households
            .get(h.id, &Scope::all())
            .map(|o| (o.region, o.id));
        let update = self.id(row, h.id, held)?;
        h.region = Some(self.land(row, h.location, h.region)?);
        if let Some(b) = h.building {
            if self.s.buildings.get(b, &Scope::all()).is_none() {
                let detail = format!("building {b} does not exist");
                let r = &mut self.out.report;
                r.problem(row, Some("building"), "unknown_building", detail);
                return None;
            }
        }
        for (name, v) in [
            ("address", &h.address),
            ("name", &h.head_name),
            ("phone", &h.phone),
        ] {
            if v.chars().count() > 500 {
                let detail = format!("{name} has more than 500 characters");
                self.out.report.problem(row, Some(name), "too_long", detail);
                return None;
            }
        }
        if let Some(key) = address_key(&h.address) {
            if let Some(&existing) = self.addresses.get(&key).filter(|e| **e != h.id) {
                let r = &mut self.out.report;
                r.duplicates.push(Duplicate {
                    row,
                    by: "address",
                    existing,
                });
                let detail = format!("household {existing} already lives at this address (and unit); give its id to update it");
                r.problem(row, Some("address"), "duplicate_address", detail);
                return None;
            }
            if let Some(first) = self.seen_addresses.insert(key.clone(), row) {
                let detail = format!("the address is also on row {first}");
                let r = &mut self.out.report;
                r.problem(row, Some("address"), "duplicate_in_upload", detail);
                return None;
            }
        }
        self.count(update);
        Some(h)
    }

    fn person(&mut self, row: u64, mut p: Person) -> Option<Person> {
        let held = self
            .s
            .people
            .get(p.id, &Scope::all())
            .map(|o| (o.region, o.id));
        let update = self.id(row, p.id, held)?;
        p.region = Some(self.land(row, p.home, p.region)?);
        for code in &p.grids {
            match super::people::grid_region(self.s, code) {
                None => {
                    let detail = format!("grid {} does not exist", code.0);
                    let r = &mut self.out.report;
                    r.problem(row, Some("grids"), "unknown_grid", detail);
                    return None;
                }
                Some(r) if !self.caller.scope.contains(r) => {
                    let detail = format!("grid {} lies outside your scope", code.0);
                    let rep = &mut self.out.report;
                    rep.problem(row, Some("grids"), "out_of_scope", detail);
                    return None;
                }
                Some(_) => {}
            }
        }
        self.count(update);
        Some(p)
    }

    fn count(&mut self, update: bool) {
        if update {
            self.out.report.updates += 1;
        } else {
            self.out.report.creates += 1;
        }
    }

    pub fn finish(self) -> Checked {
        self.out
    }
}

/// Reads a table's records through `check`, row by row (`cursor` is the
/// reader's [`crate::io::RowCursor`]); `progress` hears the rows done.
pub fn check_rows(
    mut check: Check<'_>,
    stream: crate::io::RecordStream,
    cursor: &crate::io::RowCursor,
    progress: &dyn Fn(u64),
) -> Checked {
    for item in stream {
        match item {
            Ok(r) => check.record(cursor.get(), r),
            Err(e) => {
                let row = match e.location {
                    crate::io::Location::Line(n) | crate::io::Location::Row { row: n, .. } => n,
                    _ => 0,
                };
                check.bad_row(row, &e);
            }
        }
        if check.rows() % 1024 == 0 {
            progress(check.rows());
        }
    }
    progress(check.rows());
    check.finish()
}

/// The household a JSON bulk item describes: the held one (in scope)
/// with the fields given, or a new one (location, size and care required)
/// with the id given or none.
pub fn household_of(
    s: &Snapshot,
    policy: &Policy,
    caller: &Caller,
    id: Option<i64>,
    f: &HouseholdFields,
) -> Result<Household, LedgerError> {
    may_write(caller)?;
    let held = id.and_then(|id| s.households.get(id, &Scope::all()));
    match held {
        Some(h) if !caller.scope.contains_opt(h.region) => Err(LedgerError::OutOfScope(format!(
            "household {} is not yours to write",
            h.id
        ))),
        Some(h) => {
            let mut h = h.clone();
            super::apply(s, policy, &mut h, f)?;
            // Placed again by the check, as every row is.
            h.region = None;
            Ok(h)
        }
        None => {
            let mut h = super::blank_household(f)?;
            h.id = id.unwrap_or(0);
            super::apply(s, policy, &mut h, f)?;
            Ok(h)
        }
    }
}

/// The records to store and the snapshot's puts: new ids (after the
/// largest held) for records without one. Called under the ledger's write
/// lock, so that no other write takes those ids meanwhile.
pub fn commit_plan(s: &Snapshot, records: &[(u64, Record)]) -> Vec<Record> {
    let mut next = match records.first().map(|(_, r)| r.layer()) {
        Some(Layer::People) => s.people.items().last().map_or(0, |p| p.id),
        _ => s.households.items().last().map_or(0, |h| h.id),
    }
    .max(
        records
            .iter()
            .map(|(_, r)| crate::snapshot::record_id(r))
            .max()
            .unwrap_or(0),
    );
    records
        .iter()
        .map(|(_, r)| {
            let mut r = r.clone();
            if let Record::Household(Household { id, .. }) | Record::Person(Person { id, .. }) =
                &mut r
            {
                if *id <= 0 {
                    next += 1;
                    *id = next;
                }
            }
            r
        })
        .collect()
}

#[cfg(test)]
mod test;
