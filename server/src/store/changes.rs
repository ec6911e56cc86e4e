//! The change log: one row per write, numbered by a monotonic `seq`, in
//! the write's own transaction, so a reader that sees a write sees its row
//! and the other way round.
//!
//! Both stores number rows without gaps a reader could see: the GeoPackage
//! by SQLite's AUTOINCREMENT, whose counter (`sqlite_sequence`) is written
//! in the same transaction and rolled back with it; PostGIS by
//! `max(seq) + 1` taken under the store's write lock (every write
//! transaction takes it first), so writers commit one after the other in
//! `seq` order and a rolled-back write leaves no hole (a SEQUENCE would).
//!
//! A record's ETag is the seq of the last change that touched it, or of
//! its layer's last bulk import when that is newer ([`etag`]): a re-import
//! invalidates every ETag of the layer.
//!
//! Writers: the HTTP record writes, `wangge import` (one `import` row per
//! layer), `wangge copy` (the same, into the new store) and every plan
//! save (layer `plans`, the version's id and region, `create` or
//! `publish`), so a server can tell from the log alone that something was
//! written elsewhere.

use serde::{Serialize, Serializer};

use super::rows::{code_str, corrupt};
use super::{ImportCounts, Result, StoreError};
use crate::access::account::AuditEntry;
use crate::domain::{Household, Layer, Person, Record, RegionCode};

/// What a change did to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
    /// A bulk import into the layer (no id).
    Import,
    /// A plan version saved published (layer `plans`).
    Publish,
}

impl ChangeOp {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::Import => "import",
            Self::Publish => "publish",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Create,
            Self::Update,
            Self::Delete,
            Self::Import,
            Self::Publish,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// What a change row names: a layer's records, plan versions (which
/// are no layer: they are kept beside the layers, by region), or
/// incidents (kept beside them too; no snapshot holds them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeLayer {
    Data(Layer),
    Plans,
    Incidents,
}

impl ChangeLayer {
    /// The `layer` column: the layer's name, `plans` or `incidents`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Data(l) => l.as_str(),
            Self::Plans => "plans",
            Self::Incidents => "incidents",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "plans" => Some(Self::Plans),
            "incidents" => Some(Self::Incidents),
            _ => Layer::parse(s).map(Self::Data),
        }
    }
}

impl From<Layer> for ChangeLayer {
    fn from(l: Layer) -> Self {
        Self::Data(l)
    }
}

impl PartialEq<Layer> for ChangeLayer {
    fn eq(&self, other: &Layer) -> bool {
        *self == Self::Data(*other)
    }
}

impl std::fmt::Display for ChangeLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ChangeLayer {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One row of the change log. Holds no personal field: ids, kinds and
/// places only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub seq: i64,
    /// RFC 3339 UTC.
    pub at: String,
    pub layer: ChangeLayer,
    /// `None` for a bulk import; the version's id for a plan save.
    pub id: Option<i64>,
    pub op: ChangeOp,
    /// The record's region (after the write; before it, for a delete).
    pub region: Option<RegionCode>,
    /// The user who wrote.
    pub actor: String,
}

/// A change row as both stores read it back.
pub(crate) fn change_row(
    seq: i64,
    at: String,
    layer: &str,
    id: Option<i64>,
    op: &str,
    region: Option<&str>,
    actor: String,
) -> Result<Change> {
    Ok(Change {
        seq,
        at,
        layer: ChangeLayer::parse(layer).ok_or_else(|| corrupt("changes.layer", layer))?,
        id,
        op: ChangeOp::parse(op).ok_or_else(|| corrupt("changes.op", op))?,
        region: region
            .map(|r| super::rows::region_code(r, "changes.region"))
            .transpose()?,
        actor,
    })
}

/// The region column of a change.
pub(crate) fn region_text(c: Option<RegionCode>) -> Option<String> {
    c.map(code_str)
}

/// The ETag seq of a record: its last change's, or its layer's last
/// import's when newer; 0 when neither exists.
pub fn etag(record_seq: Option<i64>, import_seq: Option<i64>) -> i64 {
    record_seq.unwrap_or(0).max(import_seq.unwrap_or(0))
}

/// One write to one household, as [`super::Store::write_household`] applies
/// it. `expect` is the ETag seq the writer read (`If-Match`).
#[derive(Debug, Clone)]
pub enum HouseholdWrite {
    /// A new household: its id is assigned by the store.
    Create(Household),
    /// Replaces the household with the same id.
    Update { household: Household, expect: i64 },
    /// The household moved out.
    Delete {
        id: i64,
        region: Option<RegionCode>,
        expect: i64,
    },
}

impl HouseholdWrite {
    pub fn op(&self) -> ChangeOp {
        match self {
            Self::Create(_) => ChangeOp::Create,
            Self::Update { .. } => ChangeOp::Update,
            Self::Delete { .. } => ChangeOp::Delete,
        }
    }

    pub fn expect(&self) -> Option<i64> {
        match self {
            Self::Create(_) => None,
            Self::Update { expect, .. } | Self::Delete { expect, .. } => Some(*expect),
        }
    }

    pub fn region(&self) -> Option<RegionCode> {
        match self {
            Self::Create(h) | Self::Update { household: h, .. } => h.region,
            Self::Delete { region, .. } => *region,
        }
    }
}

/// One write to one person (staff), as [`super::Store::write_person`]
/// applies it; the same shape as [`HouseholdWrite`].
#[derive(Debug, Clone)]
pub enum PersonWrite {
    /// A new person: its id is assigned by the store.
    Create(Person),
    /// Replaces the person with the same id (fields or grids).
    Update { person: Person, expect: i64 },
    /// The person left.
    Delete {
        id: i64,
        region: Option<RegionCode>,
        expect: i64,
    },
}

impl PersonWrite {
    pub fn op(&self) -> ChangeOp {
        match self {
            Self::Create(_) => ChangeOp::Create,
            Self::Update { .. } => ChangeOp::Update,
            Self::Delete { .. } => ChangeOp::Delete,
        }
    }

    pub fn region(&self) -> Option<RegionCode> {
        match self {
            Self::Create(p) | Self::Update { person: p, .. } => p.region,
            Self::Delete { region, .. } => *region,
        }
    }
}

/// One write to one record of any layer whose table is keyed by `fid`
/// (buildings and roads, which carry no region of their own), as
/// [`super::Store::write_record`] applies it: the record upserted or
/// deleted with its ETag checked, its change row and audit line, and the
/// stored plan grid shapes of `forget` dropped, all in one transaction.
#[derive(Debug, Clone)]
pub struct RecordWrite {
    pub op: RecordOp,
    /// The change row's region: where the record lies (before a delete).
    pub region: Option<RegionCode>,
    /// Regions whose stored plan grid shapes were measured on the record
    /// (before and after): they go, as a household write drops its own.
    pub forget: Vec<RegionCode>,
    /// Forget the region the stored record names too (where a household
    /// was before an update moved it), read in the write's transaction.
    pub forget_stored: bool,
}

/// What a [`RecordWrite`] does.
#[derive(Debug, Clone)]
pub enum RecordOp {
    /// A new record: its id is assigned by the store.
    Create(Record),
    /// Replaces the record with the same id and layer.
    Update {
        record: Record,
        expect: i64,
    },
    Delete {
        layer: Layer,
        id: i64,
        expect: i64,
    },
}

impl RecordWrite {
    pub fn op(&self) -> ChangeOp {
        match self.op {
            RecordOp::Create(_) => ChangeOp::Create,
            RecordOp::Update { .. } => ChangeOp::Update,
            RecordOp::Delete { .. } => ChangeOp::Delete,
        }
    }

    pub fn layer(&self) -> Layer {
        match &self.op {
            RecordOp::Create(r) | RecordOp::Update { record: r, .. } => r.layer(),
            RecordOp::Delete { layer, .. } => *layer,
        }
    }

    pub fn expect(&self) -> Option<i64> {
        match &self.op {
            RecordOp::Create(_) => None,
            RecordOp::Update { expect, .. } | RecordOp::Delete { expect, .. } => Some(*expect),
        }
    }

    /// The id of the record updated or deleted (none for a create).
    pub fn id(&self) -> Option<i64> {
        match &self.op {
            RecordOp::Create(_) => None,
            RecordOp::Update { record, .. } => Some(crate::snapshot::record_id(record)),
            RecordOp::Delete { id, .. } => Some(*id),
        }
    }

    /// The forgotten regions as the stores' `region` column holds them.
    pub(crate) fn forget_text(&self) -> Vec<String> {
        self.forget.iter().map(|c| code_str(*c)).collect()
    }
}

impl From<&PersonWrite> for RecordWrite {
    /// A person write is a record write that forgets no plan grid shapes
    /// (they count households only).
    fn from(w: &PersonWrite) -> Self {
        let op = match w {
            PersonWrite::Create(p) => RecordOp::Create(Record::Person(p.clone())),
            PersonWrite::Update { person, expect } => RecordOp::Update {
                record: Record::Person(person.clone()),
                expect: *expect,
            },
            PersonWrite::Delete { id, expect, .. } => RecordOp::Delete {
                layer: Layer::People,
                id: *id,
                expect: *expect,
            },
        };
        Self {
            op,
            region: w.region(),
            forget: vec![],
            forget_stored: false,
        }
    }
}

impl From<&HouseholdWrite> for RecordWrite {
    /// A household write forgets the plan grid shapes of the region it
    /// lands in and of the one it was in: they counted it.
    fn from(w: &HouseholdWrite) -> Self {
        let op = match w {
            HouseholdWrite::Create(h) => RecordOp::Create(Record::Household(h.clone())),
            HouseholdWrite::Update { household, expect } => RecordOp::Update {
                record: Record::Household(household.clone()),
                expect: *expect,
            },
            HouseholdWrite::Delete { id, expect, .. } => RecordOp::Delete {
                layer: Layer::Households,
                id: *id,
                expect: *expect,
            },
        };
        Self {
            op,
            region: w.region(),
            forget: w.region().into_iter().collect(),
            forget_stored: true,
        }
    }
}

/// The record's id slot, to give a created record the store's id.
pub(crate) fn id_of(r: &mut Record) -> Option<&mut i64> {
    match r {
        Record::Household(h) => Some(&mut h.id),
        Record::Person(p) => Some(&mut p.id),
        Record::Road(x) => Some(&mut x.id),
        Record::Building(b) => Some(&mut b.id),
        Record::Water(w) => Some(&mut w.id),
        Record::Grid(g) => Some(&mut g.id),
        Record::Region(_) | Record::Atom(_) => None,
    }
}

/// The change row a write appends (its seq assigned by the store).
pub(crate) fn pending(
    layer: Layer,
    id: i64,
    op: ChangeOp,
    region: Option<RegionCode>,
    audit: &AuditEntry,
) -> Change {
    Change {
        seq: 0,
        at: audit.at.clone(),
        layer: layer.into(),
        id: Some(id),
        op,
        region,
        actor: audit.user.clone(),
    }
}

/// The change row of a plan version's save: `publish` when saved
/// published, `create` otherwise; at the version's time by its author.
pub(crate) fn plan_saved(v: &crate::domain::PlanVersion) -> Change {
    Change {
        seq: 0,
        at: if v.created_at.is_empty() {
            now()
        } else {
            v.created_at.clone()
        },
        layer: ChangeLayer::Plans,
        id: Some(v.id),
        op: if v.published {
            ChangeOp::Publish
        } else {
            ChangeOp::Create
        },
        region: Some(v.region),
        actor: v.author.clone(),
    }
}

/// The `import` rows of a bulk write: one per layer written, then one for
/// the plan versions when any were (a copy).
pub(crate) fn imports(counts: &ImportCounts, plans: usize, at: &str, actor: &str) -> Vec<Change> {
    let row = |layer| Change {
        seq: 0,
        at: at.to_string(),
        layer,
        id: None,
        op: ChangeOp::Import,
        region: None,
        actor: actor.to_string(),
    };
    counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(l, _)| row(ChangeLayer::Data(*l)))
        .chain((plans > 0).then(|| row(ChangeLayer::Plans)))
        .collect()
}

/// The audit line of a record write, completed with its change seq.
pub(crate) fn written_audit(audit: &AuditEntry, c: &Change) -> AuditEntry {
    let id = c.id.map_or_else(String::new, |i| format!(" {i}"));
    let head = format!("{} {}{id} (change {})", c.op.as_str(), c.layer, c.seq);
    AuditEntry {
        target: format!("{}{id}", c.layer),
        detail: if audit.detail.is_empty() {
            head
        } else {
            format!("{head}; {}", audit.detail)
        },
        ..audit.clone()
    }
}

/// RFC 3339 UTC now, for an import's change rows when it has no audit line.
pub(crate) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The time and actor of an import's change rows.
pub(crate) fn import_stamp(audit: Option<&AuditEntry>) -> (String, String) {
    audit.map_or_else(
        || (now(), "import".to_string()),
        |a| (a.at.clone(), a.user.clone()),
    )
}

/// The current ETag seq differs from the one the writer read.
pub(crate) fn stale(id: i64, current: i64) -> StoreError {
    StoreError::Precondition { id, current }
}

/// The record is not there (an update or delete of a missing id).
pub(crate) fn missing(layer: Layer, id: i64) -> StoreError {
    StoreError::NotFound {
        what: format!("{layer} {id}"),
    }
}
