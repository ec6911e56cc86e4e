//! Policy: what a level means in this city, staffing ratios, service radii
//! and care levels. Read from TOML; the presets are TOML files in
//! `data/policy/`, built into the binary.
//!
//! ```toml
//! name = "ankang"
//! [[levels]]
//! name = "一级网格"
//! min_households = 400
//! target_households = 480
//! max_households = 560
//! ```

use serde::{Deserialize, Serialize};

/// The whole policy. Every field has a documented default (see
/// [`Policy::default`], which equals the `ankang` preset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Preset or local name.
    pub name: String,
    /// Exactly three levels, top first.
    pub levels: Vec<LevelPolicy>,
    #[serde(default)]
    pub staffing: Staffing,
    #[serde(default)]
    pub reach: Reach,
    /// Care levels, lowest need first; households reference them by index.
    #[serde(default = "default_care_levels")]
    pub care_levels: Vec<CareLevelPolicy>,
    /// Digits of the per-level sequence in grid codes.
    #[serde(default = "default_code_widths")]
    pub code_widths: [usize; 3],
    #[serde(default)]
    pub privacy: Privacy,
}

/// Household range of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelPolicy {
    pub name: String,
    #[serde(default)]
    pub name_en: String,
    pub min_households: u32,
    pub target_households: u32,
    pub max_households: u32,
}

/// Staffing rules checked by coverage analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Staffing {
    /// Households one full-time grid worker looks after at most.
    pub max_households_per_full_time_worker: u32,
    /// Every level-3 grid needs at least this many grid workers (full or part time).
    pub min_workers_per_level3: u32,
    /// Every grid of `leader_level` needs at least this many grid leaders.
    pub min_leaders_per_grid: u32,
    /// The level whose grids each have a grid leader (网格长): 1 in Ankang,
    /// whose 718 leaders head its 718 level-1 grids.
    pub leader_level: u8,
    /// A person assigned to more grids than this is overstretched.
    pub max_grids_per_person: u32,
}

impl Default for Staffing {
    fn default() -> Self {
        Self {
            max_households_per_full_time_worker: 300,
            min_workers_per_level3: 1,
            min_leaders_per_grid: 1,
            leader_level: 1,
            max_grids_per_person: 3,
        }
    }
}

/// Service radii.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Reach {
    /// A vulnerable household must have a carer of its own grid within this distance.
    pub carer_radius_m: f64,
    /// Walking speed for times along the road network.
    pub walking_speed_m_per_s: f64,
}

impl Default for Reach {
    fn default() -> Self {
        Self {
            carer_radius_m: 300.0,
            walking_speed_m_per_s: 1.2,
        }
    }
}

/// What roles that see only counts (`viewer`, a public map) are shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Privacy {
    /// k of k-anonymity: a household count below this is never published
    /// to them (its cell is merged into a coarser one, or suppressed).
    pub min_cell_households: u32,
}

impl Default for Privacy {
    fn default() -> Self {
        Self {
            min_cell_households: 5,
        }
    }
}

/// One care level with its visit frequency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CareLevelPolicy {
    pub key: String,
    pub name: String,
    /// Visits per month a carer owes such a household.
    pub visits_per_month: f64,
}

fn default_care_levels() -> Vec<CareLevelPolicy> {
    vec![
        CareLevelPolicy {
            key: "reassured".into(),
            name: "放心户".into(),
            visits_per_month: 1.0,
        },
        CareLevelPolicy {
            key: "cared".into(),
            name: "关心户".into(),
            visits_per_month: 4.0,
        },
        CareLevelPolicy {
            key: "connected".into(),
            name: "连心户".into(),
            visits_per_month: 30.0,
        },
    ]
}

fn default_code_widths() -> [usize; 3] {
    [3, 2, 2]
}

/// Why a policy was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("policy TOML: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("unknown policy preset {0:?} (known: {known})", known = PRESETS.join(", "))]
    UnknownPreset(String),
    #[error("policy: {0}")]
    Invalid(String),
}

/// Names of the presets that ship with the crate.
pub const PRESETS: [&str; 2] = ["ankang", "comprehensive"];

/// The presets' TOML, from the top-level `data/policy/` folder: data a
/// planner can read and copy, built into the binary so it needs no files.
const PRESET_TOML: [(&str, &str); 2] = [
    ("ankang", include_str!("../../../data/policy/ankang.toml")),
    (
        "comprehensive",
        include_str!("../../../data/policy/comprehensive.toml"),
    ),
];

impl Policy {
    /// A preset by name: `ankang` (levels ≈ 480 / 130 / 50 households, as
    /// Ankang's 349,028 households over 718 / 2,622 / 6,886 grids) or
    /// `comprehensive` (300-500 households per comprehensive grid, 20-50 per
    /// micro grid, common practice).
    pub fn preset(name: &str) -> Result<Self, PolicyError> {
        let (_, text) = PRESET_TOML
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| PolicyError::UnknownPreset(name.to_string()))?;
        Self::from_toml(text)
    }

    /// Parses and validates policy TOML.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let p: Policy = toml::from_str(text)?;
        p.validate()?;
        Ok(p)
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("policy serialises")
    }

    /// Checks the rules the rest of the code relies on.
    pub fn validate(&self) -> Result<(), PolicyError> {
        let bad = |m: String| Err(PolicyError::Invalid(m));
        if self.levels.len() != 3 {
            return bad(format!("needs exactly 3 levels, has {}", self.levels.len()));
        }
        for (i, l) in self.levels.iter().enumerate() {
            if !(l.min_households <= l.target_households && l.target_households <= l.max_households)
            {
                return bad(format!(
                    "level {} ({}): need min ≤ target ≤ max, got {} / {} / {}",
                    i + 1,
                    l.name,
                    l.min_households,
                    l.target_households,
                    l.max_households
                ));
            }
            if l.max_households == 0 {
                return bad(format!("level {}: max_households must be positive", i + 1));
            }
        }
        for w in self.levels.windows(2) {
            if w[1].target_households >= w[0].target_households {
                return bad(format!(
                    "level targets must shrink downwards: {} ({}) then {} ({})",
                    w[0].name, w[0].target_households, w[1].name, w[1].target_households
                ));
            }
        }
        if self.privacy.min_cell_households < 2 {
            return bad(format!(
                "privacy.min_cell_households: at least 2 (a count of 1 is a household), got {}",
                self.privacy.min_cell_households
            ));
        }
        if self.care_levels.is_empty() || self.care_levels.len() > 8 {
            return bad("care_levels: between 1 and 8 entries".into());
        }
        if !(self.reach.carer_radius_m.is_finite() && self.reach.carer_radius_m > 0.0) {
            return bad("reach.carer_radius_m must be a positive number".into());
        }
        if !(1..=3).contains(&self.staffing.leader_level) {
            return bad("staffing.leader_level must be 1, 2 or 3".into());
        }
        if self.code_widths.iter().any(|w| !(1..=4).contains(w)) {
            return bad("code_widths: each between 1 and 4 digits".into());
        }
        Ok(())
    }

    /// Looks a care level up by key or Chinese name.
    pub fn care_level(&self, s: &str) -> Option<super::CareLevel> {
        let s = s.trim();
        self.care_levels
            .iter()
            .position(|c| c.key == s || c.name == s)
            .map(|i| super::CareLevel(i as u8))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::preset("ankang").expect("ankang preset exists")
    }
}

#[cfg(test)]
mod test {
    use super::*;

    fn level(name: &str, name_en: &str, min: u32, target: u32, max: u32) -> LevelPolicy {
        LevelPolicy {
            name: name.into(),
            name_en: name_en.into(),
            min_households: min,
            target_households: target,
            max_households: max,
        }
    }

    /// The presets as they were written in Rust before they became files.
    fn as_written(name: &str) -> Policy {
        let levels = match name {
            "ankang" => vec![
                level("一级网格", "Level-1 grid", 400, 480, 560),
                level("二级网格", "Level-2 grid", 100, 130, 160),
                level("三级网格", "Level-3 grid", 30, 50, 70),
            ],
            "comprehensive" => vec![
                level("社区网格", "Community grid", 1200, 1600, 2000),
                level("综合网格", "Comprehensive grid", 300, 400, 500),
                level("微网格", "Micro grid", 20, 35, 50),
            ],
            other => panic!("no preset {other}"),
        };
        Policy {
            name: name.to_string(),
            levels,
            staffing: Staffing::default(),
            reach: Reach::default(),
            care_levels: default_care_levels(),
            code_widths: default_code_widths(),
            privacy: Privacy::default(),
        }
    }

    #[test]
    fn each_preset_file_parses_to_the_preset_as_it_was() {
        assert_eq!(PRESET_TOML.map(|(n, _)| n), PRESETS);
        for name in PRESETS {
            assert_eq!(Policy::preset(name).unwrap(), as_written(name), "{name}");
        }
        assert_eq!(Policy::default(), as_written("ankang"));
    }

    #[test]
    fn presets_validate_and_round_trip_through_toml() {
        for name in PRESETS {
            let p = Policy::preset(name).unwrap();
            p.validate().unwrap();
            assert_eq!(Policy::from_toml(&p.to_toml()).unwrap(), p);
        }
    }

    #[test]
    fn ankang_levels_match_the_field_figures() {
        let p = Policy::preset("ankang").unwrap();
        let t: Vec<u32> = p.levels.iter().map(|l| l.target_households).collect();
        // 349,028 households over 718 / 2,622 / 6,886 grids ≈ 486 / 133 / 51.
        assert_eq!(t, vec![480, 130, 50]);
        let c = Policy::preset("comprehensive").unwrap();
        assert_eq!(
            (c.levels[1].min_households, c.levels[1].max_households),
            (300, 500)
        );
        assert_eq!(
            (c.levels[2].min_households, c.levels[2].max_households),
            (20, 50)
        );
    }

    #[test]
    fn bad_policy_says_what() {
        let mut p = Policy::default();
        p.levels[1].min_households = 200;
        let e = Policy::from_toml(&p.to_toml()).unwrap_err().to_string();
        assert!(e.contains("level 2"), "{e}");
        let e = Policy::from_toml("name = \"x\"\nlevels = []\nfoo = 1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("foo"), "{e}");
        let mut p = Policy::default();
        assert_eq!(p.privacy.min_cell_households, 5, "k defaults to 5");
        p.privacy.min_cell_households = 1;
        let e = Policy::from_toml(&p.to_toml()).unwrap_err().to_string();
        assert!(e.contains("min_cell_households"), "{e}");
        assert!(matches!(
            Policy::preset("nowhere"),
            Err(PolicyError::UnknownPreset(_))
        ));
    }

    #[test]
    fn care_levels_by_key_or_name() {
        let p = Policy::default();
        assert_eq!(p.care_level("关心户"), Some(super::super::CareLevel(1)));
        assert_eq!(p.care_level("connected"), Some(super::super::CareLevel(2)));
        assert_eq!(p.care_level("?"), None);
    }
}
