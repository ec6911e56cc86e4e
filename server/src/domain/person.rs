//! People who staff grids and volunteer.

use geo_types::Point;
use serde::{Deserialize, Serialize};

use super::{GridCode, RegionCode};

pub type PersonId = i64;

/// What a person does in the grid system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格长
    GridLeader,
    /// 专职网格员
    FullTimeWorker,
    /// 兼职网格员
    PartTimeWorker,
    /// 楼栋长
    BuildingHead,
    /// 党员中心户
    PartyHousehold,
    /// 志愿者
    Volunteer,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Self::GridLeader,
        Self::FullTimeWorker,
        Self::PartTimeWorker,
        Self::BuildingHead,
        Self::PartyHousehold,
        Self::Volunteer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GridLeader => "grid_leader",
            Self::FullTimeWorker => "full_time_worker",
            Self::PartTimeWorker => "part_time_worker",
            Self::BuildingHead => "building_head",
            Self::PartyHousehold => "party_household",
            Self::Volunteer => "volunteer",
        }
    }

    /// Chinese name as used on the job.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::GridLeader => "网格长",
            Self::FullTimeWorker => "专职网格员",
            Self::PartTimeWorker => "兼职网格员",
            Self::BuildingHead => "楼栋长",
            Self::PartyHousehold => "党员中心户",
            Self::Volunteer => "志愿者",
        }
    }

    /// Parses the English key or the Chinese name.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.name_zh() == s)
    }

    /// Carers look after the vulnerable households of their grid.
    pub fn is_carer(self) -> bool {
        matches!(
            self,
            Self::FullTimeWorker | Self::PartTimeWorker | Self::BuildingHead | Self::PartyHousehold
        )
    }
}

/// A person with a home point and grid assignments.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub id: PersonId,
    /// Personal data.
    pub name: String,
    /// Personal data.
    pub phone: String,
    pub roles: Vec<Role>,
    pub team: Option<String>,
    pub skills: Vec<String>,
    pub available: bool,
    /// Member of the emergency reserve (应急预备队).
    pub reserve: bool,
    /// WGS-84 lon/lat of home.
    pub home: Point<f64>,
    pub grids: Vec<GridCode>,
    pub region: Option<RegionCode>,
}
