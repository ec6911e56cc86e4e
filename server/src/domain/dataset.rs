//! Every feature and the newest plans: what a snapshot is built from and
//! what a store loads.

use super::{Atom, Building, Household, ImportedGrid, Person, Plan, Record, Region, Road, Water};

/// Everything a snapshot is built from.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Dataset {
    pub regions: Vec<Region>,
    pub atoms: Vec<Atom>,
    pub households: Vec<Household>,
    pub people: Vec<Person>,
    pub roads: Vec<Road>,
    pub buildings: Vec<Building>,
    pub water: Vec<Water>,
    pub grids: Vec<ImportedGrid>,
    /// The newest plan of each region.
    pub plans: Vec<Plan>,
}

impl Dataset {
    /// Every feature as import records, layer by layer (plans excluded).
    pub fn records(&self) -> Vec<Record> {
        let d = self.clone();
        d.regions
            .into_iter()
            .map(Record::Region)
            .chain(d.atoms.into_iter().map(Record::Atom))
            .chain(d.households.into_iter().map(Record::Household))
            .chain(d.people.into_iter().map(Record::Person))
            .chain(d.roads.into_iter().map(Record::Road))
            .chain(d.buildings.into_iter().map(Record::Building))
            .chain(d.water.into_iter().map(Record::Water))
            .chain(d.grids.into_iter().map(Record::Grid))
            .collect()
    }
}
