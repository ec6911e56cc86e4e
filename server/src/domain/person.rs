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

/// Whether a volunteer can be sent now. Only `OnDuty` volunteers are
/// found by nearest searches and dispatch plans; `Dispatched` ones are
/// out until someone sets them on duty again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// 在岗: may be sent.
    #[default]
    OnDuty,
    /// 离岗: not reachable now.
    OffDuty,
    /// 已派出: sent by a confirmed dispatch.
    Dispatched,
    /// 已到达: with the households they were sent to.
    Arrived,
    /// 已完成: back from a dispatch and free to be sent again.
    Done,
}

impl Availability {
    pub const ALL: [Self; 5] = [
        Self::OnDuty,
        Self::OffDuty,
        Self::Dispatched,
        Self::Arrived,
        Self::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnDuty => "on_duty",
            Self::OffDuty => "off_duty",
            Self::Dispatched => "dispatched",
            Self::Arrived => "arrived",
            Self::Done => "done",
        }
    }

    /// Chinese name as used on the job.
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::OnDuty => "在岗",
            Self::OffDuty => "离岗",
            Self::Dispatched => "已派出",
            Self::Arrived => "已到达",
            Self::Done => "已完成",
        }
    }

    /// Parses the English key or the Chinese name.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.as_str() == s || a.name_zh() == s)
    }

    /// What the older `available` flag meant: on duty or not.
    pub fn from_available(available: bool) -> Self {
        if available {
            Self::OnDuty
        } else {
            Self::OffDuty
        }
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
    /// On duty, off duty, dispatched, arrived or done ([`Person::available`]: on duty or done).
    pub status: Availability,
    /// Member of the emergency reserve (应急预备队).
    pub reserve: bool,
    /// WGS-84 lon/lat of home.
    pub home: Point<f64>,
    /// WGS-84 lon/lat where a volunteer checked in, when they did: where
    /// they are sent from instead of home.
    pub checkin: Option<Point<f64>>,
    pub grids: Vec<GridCode>,
    pub region: Option<RegionCode>,
}

impl Person {
    /// On duty: the only volunteers a search or a plan may send.
    /// May be sent: on duty, or done with a dispatch and free again.
    pub fn available(&self) -> bool {
        matches!(self.status, Availability::OnDuty | Availability::Done)
    }

    /// Where the person is now: the check-in point when set, else home.
    pub fn position(&self) -> Point<f64> {
        self.checkin.unwrap_or(self.home)
    }
}
