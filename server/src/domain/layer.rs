//! The layers of features a deployment holds, by name.

/// The layers a store holds, one feature table each.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Regions,
    Atoms,
    Households,
    People,
    Roads,
    Buildings,
    Water,
    Grids,
}

impl Layer {
    pub const ALL: [Layer; 8] = [
        Self::Regions,
        Self::Atoms,
        Self::Households,
        Self::People,
        Self::Roads,
        Self::Buildings,
        Self::Water,
        Self::Grids,
    ];

    /// Table name, also the name in URLs and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Regions => "regions",
            Self::Atoms => "atoms",
            Self::Households => "households",
            Self::People => "people",
            Self::Roads => "roads",
            Self::Buildings => "buildings",
            Self::Water => "water",
            Self::Grids => "grids",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
