//! Domain types. Plain data: no I/O, no async, geometry as `geo` types in
//! WGS-84 longitude/latitude degrees unless a name says otherwise.

pub mod atom;
pub mod building_use;
pub mod dataset;
pub mod feature;
pub mod grid;
pub mod household;
pub mod layer;
pub mod person;
pub mod plan;
pub mod policy;
pub mod record;
pub mod region;

pub use atom::{Atom, AtomId, AtomKind};
pub use building_use::BuildingUse;
pub use dataset::Dataset;
pub use feature::{Building, Grade, Road, RoadClass, Water, WaterKind};
pub use grid::{GridCode, ImportedGrid, Level};
pub use household::{CareLevel, Household, HouseholdId, SensitiveFlags};
pub use layer::Layer;
pub use person::{Availability, Person, PersonId, Role};
pub use plan::{GridLabel, Plan, PlanVersion};
pub use policy::Policy;
pub use record::Record;
pub use region::{Region, RegionCode, RegionCodeError};
