//! Stores: the system of record. One [`Store`] trait, implemented by the
//! embedded GeoPackage file ([`gpkg`]) and a PostGIS database
//! ([`postgis`]); [`open`] picks one from a path or a `postgres://` URL.
//!
//! The trait is synchronous: SQLite is, and the API calls it from
//! `spawn_blocking`. Every write is one transaction.

mod accounts;
pub mod audit_archive;
pub mod changes;
#[cfg(test)]
mod changes_suite;
pub mod gpkg;
pub mod incidents;
#[cfg(test)]
mod incidents_suite;
mod personal;
mod plan_shapes;
pub mod postgis;
mod rows;
#[cfg(test)]
pub mod suite;

use std::sync::Arc;

use crate::access::account::{AuditEntry, Token, User};
use crate::sealing::{KeyId, Sealer};
pub use accounts::AccountStore;
pub use changes::{
    Change, ChangeLayer, ChangeOp, HouseholdWrite, PersonWrite, RecordOp, RecordWrite,
};
pub use incidents::{IncidentRecord, IncidentStore};
pub use plan_shapes::{PlanGridShape, ShapesByVersion};

use crate::domain::{
    Atom, Dataset, Household, Layer, Plan, PlanVersion, Record, Region, RegionCode,
};

/// Yielded by an import stream to make the store roll the whole import back
/// (the importer found bad records and was told to store nothing then).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Abort;

/// Records stored per layer by one import.
pub type ImportCounts = std::collections::BTreeMap<Layer, u64>;

/// Everything a store holds, as `wangge copy` moves it: the layers, every
/// plan version (in `data.plans`, by id) with its grid shapes, the
/// accounts with their tokens and the whole audit log. Login sessions are not moved: they are
/// short-lived and their users sign in again.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Dump {
    pub data: Dataset,
    /// The grid shapes kept of each plan version (none for a version the
    /// source store keeps none of).
    pub shapes: ShapesByVersion,
    pub users: Vec<User>,
    pub tokens: Vec<Token>,
    pub audit: Vec<AuditEntry>,
}

impl Dump {
    /// Records a restore writes, for progress bars.
    pub fn len(&self) -> u64 {
        (self.data.records().len()
            + self.data.plans.len()
            + self.shapes.len()
            + self.users.len()
            + self.tokens.len()
            + self.audit.len()) as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Errors of the store layer, with the operation they happened in.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {op}: {source}")]
    Sqlite {
        op: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("postgres {op}: {source}")]
    Postgres {
        op: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("database {url}: {reason}")]
    Database { url: String, reason: String },
    /// The database is out of reach (connection lost or refused): a
    /// retry later may succeed, so the API answers 503.
    #[error("database unreachable ({op}): {reason}")]
    Unavailable { op: &'static str, reason: String },
    #[error("store file {path}: {reason}")]
    File { path: String, reason: String },
    #[error("import aborted: nothing was stored")]
    Aborted,
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store's personal fields are sealed with another key.
    #[error(
        "the store's personal fields are encrypted with key {stored}, but the key given is \
         {given}: give the store's key (--key-file, WANGGE_KEY_FILE or WANGGE_KEY); nothing was changed"
    )]
    WrongKey { stored: String, given: String },
    /// No usable key (see [`crate::sealing::source`]).
    #[error("encryption key: {0}")]
    Key(String),
    /// A save built on a version that is no longer the region's newest.
    #[error("plan {base} of region {region} is not the newest any more (plan {newest} is)")]
    Stale {
        region: RegionCode,
        base: i64,
        newest: i64,
    },
    /// A record write named an ETag that is no longer the record's:
    /// `id` names the record (a write of many names the first found
    /// stale), `current` is its ETag seq now (see [`changes::etag`]).
    #[error("record {id} changed since it was read (its version is now {current})")]
    Precondition { id: i64, current: i64 },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The system of record. Implementations: [`gpkg::GeoPackage`],
/// [`postgis::PostGis`].
pub trait Store: Send + Sync {
    /// `"geopackage"` or `"postgis"`.
    fn kind(&self) -> &'static str;

    /// Writes a stream of records (of any layers) in one transaction and
    /// returns how many were stored per layer. A record whose id is ≤ 0 gets
    /// a new id; one whose id exists already replaces the stored one. An
    /// `Err(Abort)` item rolls everything back ([`StoreError::Aborted`]); so
    /// does any failure: the store then holds exactly what it held before.
    fn import(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
    ) -> Result<ImportCounts>;

    /// Like [`Store::import`], and appends `audit` (its detail completed
    /// with what was stored) to the audit log in the same transaction: a
    /// write and its audit line land together or not at all.
    fn import_audited(
        &self,
        records: &mut dyn Iterator<Item = std::result::Result<Record, Abort>>,
        audit: &crate::access::account::AuditEntry,
    ) -> Result<ImportCounts>;

    /// Loads everything a snapshot needs.
    fn load(&self) -> Result<Dataset>;

    /// The regions alone (placement needs them before an import). Stores
    /// override this when they can read one layer cheaply.
    fn regions(&self) -> Result<Vec<Region>> {
        self.load().map(|d| d.regions)
    }

    /// Number of features per layer.
    fn counts(&self) -> Result<Vec<(Layer, u64)>>;

    /// Replaces the atoms of a region (one transaction).
    fn replace_atoms(&self, region: RegionCode, atoms: &[Atom]) -> Result<()>;

    /// Saves a plan as a new immutable version; `plan.version.id` and
    /// `number` are assigned by the store and returned. `shapes` (the plan
    /// evaluated, see [`PlanGridShape::of`]; empty when evaluating failed)
    /// are written in the same transaction, with the region's current and
    /// published plan layers: every save (and publish, a save of a
    /// published version) below does so too.
    fn save_plan(&self, plan: &Plan, shapes: &[PlanGridShape]) -> Result<PlanVersion>;

    /// Saves a plan as the region's next version only while its newest
    /// version is `base` (the one the plan was edited from), with `added`
    /// atoms (a split's pieces; the atoms they were cut from stay for the
    /// versions before), checked and written in one transaction:
    /// [`StoreError::Stale`] otherwise, and nothing is written.
    /// `audit` is appended to the audit log in the same transaction (its
    /// detail completed with the version saved): an acknowledged save
    /// always has its audit line.
    fn save_plan_on(
        &self,
        plan: &Plan,
        added: &[Atom],
        base: i64,
        audit: &AuditEntry,
        shapes: &[PlanGridShape],
    ) -> Result<PlanVersion>;

    /// Replaces a region's atoms and saves a plan over them, in one
    /// transaction with `audit` (as [`Store::save_plan_on`]): a new plan
    /// never points at atoms that are not there.
    fn save_partition(
        &self,
        region: RegionCode,
        atoms: &[Atom],
        plan: &Plan,
        audit: &AuditEntry,
        shapes: &[PlanGridShape],
    ) -> Result<PlanVersion>;

    /// Keeps the grids of saved plan version `version` with their shapes
    /// and figures (replacing any kept before), for the layers of the
    /// current and published plans: for versions saved before shapes were
    /// kept (the server fills them at start). A store without such layers
    /// ignores them.
    fn put_plan_grid_shapes(&self, version: i64, shapes: &[PlanGridShape]) -> Result<()> {
        let _ = (version, shapes);
        Ok(())
    }

    /// Plan versions whose grid shapes are not kept (saved before shapes
    /// were, or where evaluating failed), oldest first; none for a store
    /// that keeps no shapes.
    fn versions_without_shapes(&self) -> Result<Vec<i64>> {
        Ok(vec![])
    }

    /// The grid shapes kept of plan versions `versions` (of every version
    /// when `None`), by version; a version without shapes is absent.
    fn plan_grid_shapes(&self, versions: Option<&[i64]>) -> Result<ShapesByVersion> {
        let _ = versions;
        Ok(ShapesByVersion::new())
    }

    /// Plan versions of a region, oldest first.
    fn plan_versions(&self, region: RegionCode) -> Result<Vec<PlanVersion>>;

    /// One plan version with its labels.
    fn plan(&self, id: i64) -> Result<Option<Plan>>;

    /// Writes a whole [`Dump`] into this store, which must be empty
    /// ([`StoreError::Conflict`] otherwise), in one transaction, keeping
    /// every id and plan number; `progress` hears how many records are
    /// written so far. A failure leaves the store empty.
    fn restore(&self, dump: &Dump, progress: &mut dyn FnMut(u64)) -> Result<()>;

    /// The id of the key the store's personal fields are sealed with.
    fn key_id(&self) -> KeyId;

    /// The households whose phone is `phone` (digits compared, see
    /// [`crate::sealing::normalise_phone`]), found through the blind index
    /// without opening any other household; by id.
    fn households_by_phone(&self, phone: &str) -> Result<Vec<Household>>;

    /// Re-seals every personal field with `new` and recomputes the blind
    /// indexes, in one transaction that also records the new key's id:
    /// interrupted or failed, the store is as it was, under the old key.
    /// Afterwards this handle uses `new`. Returns the records re-sealed.
    fn rotate_key(&self, new: Arc<Sealer>) -> Result<u64>;

    /// Applies one household write in one transaction: checks the writer's
    /// ETag seq against the record's current one
    /// ([`StoreError::Precondition`] when it moved on, [`StoreError::NotFound`]
    /// when the record is gone), writes the record (personal fields sealed
    /// as an import seals them), appends its change row and `audit`
    /// (completed with the change), all or nothing. Returns the change,
    /// with the household's id (new for a create) and its new seq.
    fn write_household(&self, write: &HouseholdWrite, audit: &AuditEntry) -> Result<Change>;

    /// One write to one person (staff), as [`Store::write_household`]
    /// does it: ETag checked, personal fields sealed, change row (layer
    /// `people`) and audit line in the same transaction.
    fn write_person(&self, write: &PersonWrite, audit: &AuditEntry) -> Result<Change> {
        let mut done = self.write_people(&[(write.clone(), audit.clone())])?;
        Ok(done.remove(0))
    }

    /// Several person writes (a confirmed dispatch) in ONE transaction,
    /// each checked, with its change row and its audit line, in order:
    /// one stale ETag or missing person and none is stored. Returns the
    /// changes in the order of `writes`.
    fn write_people(&self, writes: &[(PersonWrite, AuditEntry)]) -> Result<Vec<Change>>;

    /// One write to one record of a layer keyed by id (buildings, roads),
    /// as [`Store::write_household`] does it: ETag checked, change row
    /// (the record's layer) and audit line, and the stored plan grid
    /// shapes of [`RecordWrite::forget`] dropped, in one transaction.
    fn write_record(&self, write: &RecordWrite, audit: &AuditEntry) -> Result<Change>;

    /// Changes after `since`, oldest first, at most `limit`.
    fn changes_since(&self, since: i64, limit: usize) -> Result<Vec<Change>>;

    /// The ETag seq of one record (see [`changes::etag`]).
    fn etag_seq(&self, layer: Layer, id: i64) -> Result<i64>;

    /// The newest change's seq (0 for none): one indexed read, cheap
    /// enough to poll a few times a second.
    fn last_seq(&self) -> Result<i64>;
}

/// Records per layer a [`Dump`] holds: what a copy logs as imported.
pub(crate) fn copied(dump: &Dump) -> ImportCounts {
    let mut counts = ImportCounts::new();
    for r in dump.data.records() {
        *counts.entry(r.layer()).or_insert(0) += 1;
    }
    counts
}

/// A store with its accounts and incidents: what the server and the
/// command line use.
pub trait Backend: Store + AccountStore + IncidentStore {}

impl<T: Store + AccountStore + IncidentStore> Backend for T {}

/// The audit line of a plan save, completed with the version it made.
pub(crate) fn saved_audit(audit: &AuditEntry, v: &PlanVersion) -> AuditEntry {
    let saved = format!("saved as plan {} (version {})", v.id, v.number);
    AuditEntry {
        detail: if audit.detail.is_empty() {
            saved
        } else {
            format!("{}; {saved}", audit.detail)
        },
        ..audit.clone()
    }
}

/// The audit line of an import, completed with what it stored per layer.
pub(crate) fn imported_audit(audit: &AuditEntry, counts: &ImportCounts) -> AuditEntry {
    let stored: Vec<String> = counts.iter().map(|(l, n)| format!("{n} {l}")).collect();
    let detail = if audit.detail.is_empty() {
        stored.join(", ")
    } else {
        format!("{}; {}", audit.detail, stored.join(", "))
    };
    AuditEntry {
        detail,
        ..audit.clone()
    }
}

/// Opens a store by its spec: a `postgres://` (or `postgresql://`) URL
/// opens PostGIS (migrated on open), anything else is a GeoPackage path
/// (created when missing). Personal fields are sealed with the process's
/// key ([`crate::sealing::source::process_sealer`]).
pub fn open(spec: &str) -> Result<Arc<dyn Backend>> {
    open_with(spec, process_sealer()?)
}

/// Like [`open`], with the given key.
pub fn open_with(spec: &str, sealer: Arc<Sealer>) -> Result<Arc<dyn Backend>> {
    if postgis::is_url(spec) {
        Ok(Arc::new(postgis::PostGis::open_with(spec, sealer)?))
    } else {
        Ok(Arc::new(gpkg::GeoPackage::open_with(spec, sealer)?))
    }
}

/// The process's sealer, its failure as a store error.
pub(crate) fn process_sealer() -> Result<Arc<Sealer>> {
    crate::sealing::source::process_sealer().map_err(|e| StoreError::Key(e.to_string()))
}

/// Reads everything `store` holds (see [`Dump`]).
pub fn dump(store: &dyn Backend) -> Result<Dump> {
    let mut data = store.load()?;
    let newest = std::mem::take(&mut data.plans);
    for p in &newest {
        for v in store.plan_versions(p.version.region)? {
            let plan = store.plan(v.id)?.ok_or_else(|| StoreError::NotFound {
                what: format!("plan version {}", v.id),
            })?;
            data.plans.push(plan);
        }
    }
    data.plans.sort_by_key(|p| p.version.id);
    let users = store.users()?;
    let mut tokens = vec![];
    for u in &users {
        tokens.extend(store.tokens(u.id)?);
    }
    tokens.sort_by_key(|t| t.id);
    let audit = store.audit_log(None, None, usize::MAX)?;
    let shapes = store.plan_grid_shapes(None)?;
    Ok(Dump {
        data,
        shapes,
        users,
        tokens,
        audit,
    })
}
