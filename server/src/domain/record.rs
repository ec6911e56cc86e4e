//! One feature of any layer, as importers produce and stores write it.

use super::{Atom, Building, Household, ImportedGrid, Layer, Person, Region, Road, Water};

/// One record of any layer, as importers produce them.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Region(Region),
    Atom(Atom),
    Household(Household),
    Person(Person),
    Road(Road),
    Building(Building),
    Water(Water),
    Grid(ImportedGrid),
}

impl Record {
    pub fn layer(&self) -> Layer {
        match self {
            Self::Region(_) => Layer::Regions,
            Self::Atom(_) => Layer::Atoms,
            Self::Household(_) => Layer::Households,
            Self::Person(_) => Layer::People,
            Self::Road(_) => Layer::Roads,
            Self::Building(_) => Layer::Buildings,
            Self::Water(_) => Layer::Water,
            Self::Grid(_) => Layer::Grids,
        }
    }
}
