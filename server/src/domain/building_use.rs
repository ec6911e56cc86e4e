//! What a building is used for, and how much of its floor area is homes.
//!
//! Household estimates on real ground spread people over floor area; a
//! college, a library or an office tower holds floor area but no homes.
//! The use is resolved once, at import, into the building's OSM-style
//! `kind`; [`BuildingUse::of_kind`] reads it back.

use serde::{Deserialize, Serialize};

/// A building's use, coarse enough to decide whether people live in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BuildingUse {
    /// Homes: apartments, houses, dormitories.
    Residential,
    /// Homes above shops or offices (商住楼).
    Mixed,
    /// Nothing says (`building=yes`): in Chinese cities mostly housing.
    Unknown,
    /// Schools, colleges, universities.
    Education,
    /// Hospitals and clinics.
    Health,
    /// Government, culture, worship, stations, sights and parks.
    Civic,
    /// Shops, malls, hotels, restaurants, banks.
    Commercial,
    /// Office buildings.
    Office,
    /// Factories and warehouses.
    Industrial,
    /// Any other use, or none: garages, sheds, roofs, ruins, towers.
    Other,
}

impl BuildingUse {
    pub const ALL: [BuildingUse; 10] = [
        Self::Residential,
        Self::Mixed,
        Self::Unknown,
        Self::Education,
        Self::Health,
        Self::Civic,
        Self::Commercial,
        Self::Office,
        Self::Industrial,
        Self::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Residential => "residential",
            Self::Mixed => "mixed",
            Self::Unknown => "unknown",
            Self::Education => "education",
            Self::Health => "health",
            Self::Civic => "civic",
            Self::Commercial => "commercial",
            Self::Office => "office",
            Self::Industrial => "industrial",
            Self::Other => "other",
        }
    }

    /// Share of the floor area that is homes, the estimates' default:
    /// residential 1; mixed 0.5 (shops or offices below, homes above);
    /// unknown 0.7 (untyped buildings in Chinese cities are mostly
    /// housing, but not all); every non-residential use 0.
    pub fn residential_share(self) -> f64 {
        match self {
            Self::Residential => 1.0,
            Self::Mixed => 0.5,
            Self::Unknown => 0.7,
            _ => 0.0,
        }
    }

    /// True when people may live in it.
    pub fn may_house(self) -> bool {
        self.residential_share() > 0.0
    }

    /// The use of an OSM-style value: `building=*`, `amenity=*`, `shop=*`,
    /// `tourism=*`, `landuse=*` values and Tilezen's `kind_detail` and
    /// `landuse_kind`. Unknown values are [`Self::Other`]: a value that
    /// says something but not "homes" (`roof`, `ruins`, `jewelry`) houses
    /// nobody; only `yes` (or nothing) is [`Self::Unknown`]. A
    /// `building_part` (a tower on a podium) is `Other` too: its floor area
    /// is counted with the building it belongs to.
    pub fn of_kind(kind: &str) -> Self {
        match kind.trim().to_ascii_lowercase().as_str() {
            "" | "yes" | "building" | "true" | "1" => Self::Unknown,
            "residential" | "apartments" | "house" | "detached" | "semidetached_house"
            | "terrace" | "dormitory" | "bungalow" | "farm" | "villa" | "stilt_house"
            | "houseboat" | "cabin" | "static_caravan" | "allotment_house" => Self::Residential,
            "mixed" | "mixed_use" | "commercial;residential" | "residential;commercial" => {
                Self::Mixed
            }
            "university" | "college" | "school" | "kindergarten" | "education" | "childcare"
            | "language_school" | "music_school" | "driving_school" | "research_institute" => {
                Self::Education
            }
            "hospital" | "clinic" | "doctors" | "dentist" | "healthcare" | "nursing_home"
            | "pharmacy" => Self::Health,
            "civic" | "public" | "government" | "townhall" | "courthouse" | "police"
            | "fire_station" | "post_office" | "library" | "museum" | "gallery" | "theatre"
            | "cinema" | "arts_centre" | "community_centre" | "conference_centre"
            | "exhibition_centre" | "embassy" | "place_of_worship" | "religious" | "church"
            | "cathedral" | "chapel" | "temple" | "mosque" | "shrine" | "monastery"
            | "attraction" | "park" | "garden" | "zoo" | "cemetery" | "stadium" | "sports_hall"
            | "sports_centre" | "grandstand" | "pavilion" | "transportation" | "train_station"
            | "station" | "bus_station" | "military" | "prison" | "toilets" => Self::Civic,
            "commercial" | "retail" | "shop" | "mall" | "supermarket" | "department_store"
            | "marketplace" | "kiosk" | "hotel" | "motel" | "hostel" | "guest_house"
            | "restaurant" | "fast_food" | "cafe" | "bar" | "pub" | "bank" | "fuel"
            | "car_wash" | "nightclub" | "ice_cream" | "jewelry" | "computer" => Self::Commercial,
            "office" | "company" | "coworking" | "financial" => Self::Office,
            "industrial" | "factory" | "manufacture" | "warehouse" | "works" | "depot"
            | "storage" | "hangar" | "brewery" | "craft" => Self::Industrial,
            _ => Self::Other,
        }
    }

    /// The OSM-style kind a building's name says, if any: the name rule for
    /// buildings tagged no more than `building=yes`.
    ///
    /// Chinese names end in what the thing is (某某大学图书馆 is a
    /// library, 花园酒店 a hotel, 大学公寓 homes), so the marker that ends
    /// last wins, and the longer of two ending at the same place (政府
    /// over 府, 公馆 over 馆). Residential markers (小区, 公寓, 花园, 新村,
    /// 苑, 里, 弄, 宿舍, ...) count like the others.
    pub fn kind_of_name(name: &str) -> Option<&'static str> {
        let name = name.to_lowercase();
        let mut best: Option<(usize, usize, &'static str)> = None;
        for &(marker, kind) in NAME_MARKERS {
            if let Some(at) = name.rfind(marker) {
                let key = (at + marker.len(), marker.len(), kind);
                if best.is_none_or(|b| (key.0, key.1) > (b.0, b.1)) {
                    best = Some(key);
                }
            }
        }
        best.map(|(_, _, kind)| kind)
    }
}

/// Name markers and the kind each says. Lower case (English names are
/// lowered before matching).
const NAME_MARKERS: &[(&str, &str)] = &[
    // Homes.
    ("小区", "residential"),
    ("公寓", "apartments"),
    ("花园", "residential"),
    ("新村", "residential"),
    ("村", "residential"),
    ("邨", "residential"),
    ("苑", "residential"),
    ("里", "residential"),
    ("弄", "residential"),
    ("坊", "residential"),
    ("宿舍", "dormitory"),
    ("家园", "residential"),
    ("住宅", "residential"),
    ("别墅", "residential"),
    ("山庄", "residential"),
    ("公馆", "residential"),
    ("府", "residential"),
    ("商住", "mixed"),
    ("apartment", "apartments"),
    ("apartments", "apartments"),
    ("residence", "residential"),
    ("residences", "residential"),
    // Education.
    ("大学", "university"),
    ("学院", "college"),
    ("学校", "school"),
    ("中学", "school"),
    ("小学", "school"),
    ("幼儿园", "kindergarten"),
    ("教学楼", "school"),
    ("实验楼", "university"),
    ("研究院", "research_institute"),
    ("研究所", "research_institute"),
    ("设计院", "office"),
    ("university", "university"),
    ("college", "college"),
    ("school", "school"),
    // Health.
    ("医院", "hospital"),
    ("卫生院", "hospital"),
    ("诊所", "clinic"),
    ("门诊", "clinic"),
    ("hospital", "hospital"),
    // Civic.
    ("图书馆", "library"),
    ("藏书楼", "library"),
    ("博物馆", "museum"),
    ("美术馆", "museum"),
    ("纪念馆", "museum"),
    ("展览馆", "museum"),
    ("馆", "civic"),
    ("陈列室", "museum"),
    ("剧院", "theatre"),
    ("剧场", "theatre"),
    ("影院", "cinema"),
    ("会堂", "civic"),
    ("礼堂", "civic"),
    ("体育馆", "sports_hall"),
    ("教堂", "church"),
    ("寺", "temple"),
    ("庙", "temple"),
    ("殿", "temple"),
    ("祠", "temple"),
    ("政府", "government"),
    ("法院", "courthouse"),
    ("检察院", "courthouse"),
    ("公安局", "police"),
    ("派出所", "police"),
    ("海关", "government"),
    ("局", "government"),
    ("协会", "civic"),
    ("联合会", "civic"),
    ("工会", "civic"),
    ("车站", "train_station"),
    ("地铁站", "train_station"),
    ("卫生间", "toilets"),
    ("厕所", "toilets"),
    ("亭", "pavilion"),
    ("library", "library"),
    ("museum", "museum"),
    // Commerce.
    ("商场", "mall"),
    ("商厦", "mall"),
    ("商城", "mall"),
    ("购物中心", "mall"),
    ("百货", "department_store"),
    ("市场", "marketplace"),
    ("超市", "supermarket"),
    ("广场", "commercial"),
    ("银座", "commercial"),
    ("中心", "commercial"),
    ("酒店", "hotel"),
    ("宾馆", "hotel"),
    ("饭店", "hotel"),
    ("旅馆", "hotel"),
    ("招待所", "hotel"),
    ("餐厅", "restaurant"),
    ("食堂", "restaurant"),
    ("会所", "commercial"),
    ("银行", "bank"),
    ("店", "retail"),
    ("hotel", "hotel"),
    ("bank", "bank"),
    ("mall", "mall"),
    ("plaza", "commercial"),
    ("center", "commercial"),
    ("centre", "commercial"),
    // Offices.
    ("大楼", "office"),
    ("大厦", "office"),
    ("办公楼", "office"),
    ("写字楼", "office"),
    ("商务楼", "office"),
    ("公司", "office"),
    ("集团", "office"),
    ("总部", "office"),
    ("交易所", "office"),
    ("保险", "office"),
    ("financial", "office"),
    ("finance", "office"),
    ("office", "office"),
    // Industry.
    ("厂", "factory"),
    ("车间", "factory"),
    ("仓库", "warehouse"),
    ("物资站", "warehouse"),
    ("factory", "factory"),
    ("warehouse", "warehouse"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn use_of_name(n: &str) -> Option<BuildingUse> {
        BuildingUse::kind_of_name(n).map(BuildingUse::of_kind)
    }

    #[test]
    fn chinese_names_say_what_the_building_is_by_their_last_marker() {
        use BuildingUse::*;
        for (name, want) in [
            ("复旦大学图书馆", Civic),
            ("某某大学", Education),
            ("某某学院教学楼", Education),
            ("第二食堂", Commercial),
            ("仁济医院", Health),
            ("闵行大楼", Office),
            ("上海中心大厦", Office),
            ("黄金广场", Commercial),
            ("第一八佰伴银座", Commercial),
            ("上海国际会议中心", Commercial),
            ("BFC 购物中心", Commercial),
            ("外滩花园酒店", Commercial),
            ("上海晒图厂等", Industrial),
            ("耶松船厂旧址", Industrial),
            ("上海市公安局", Civic),
            ("上海市政府参事室", Civic),
            ("上海外汇交易中心", Commercial),
            ("Huaxia Bank Tower", Commercial),
            ("BEA Financial Tower", Office),
        ] {
            assert_eq!(use_of_name(name), Some(want), "{name}");
            assert!(!want.may_house() || want == Mixed, "{name}");
        }
        for name in [
            "某某小区3号楼",
            "浦西公寓",
            "瑞苑公寓",
            "繁荣昌盛小区",
            "曹杨新村",
            "乳山三村",
            "建业里",
            "元芳弄",
            "某某花园",
            "复旦大学学生公寓",
            "某某大学宿舍",
            "住宅",
            "翠湖天地御苑",
        ] {
            assert_eq!(use_of_name(name), Some(Residential), "{name}");
        }
        // The marker that ends last wins, the longer one on a tie.
        assert_eq!(use_of_name("慈安里大楼"), Some(Office));
        assert_eq!(use_of_name("区政府"), Some(Civic));
        assert_eq!(use_of_name("丁香公馆"), Some(Residential));
        assert_eq!(use_of_name("商住楼"), Some(Mixed));
        assert_eq!(use_of_name("洛克·外滩源"), None);
        assert_eq!(use_of_name("Shengda Jinpan 1"), None);
    }

    #[test]
    fn osm_and_tilezen_values_have_a_use_and_a_share() {
        use BuildingUse::*;
        for (kind, want) in [
            ("apartments", Residential),
            ("residential", Residential),
            ("house", Residential),
            ("dormitory", Residential),
            ("yes", Unknown),
            ("building", Unknown),
            ("university", Education),
            ("school", Education),
            ("library", Civic),
            ("place_of_worship", Civic),
            ("attraction", Civic),
            ("hospital", Health),
            ("commercial", Commercial),
            ("retail", Commercial),
            ("hotel", Commercial),
            ("bank", Commercial),
            ("office", Office),
            ("warehouse", Industrial),
            ("roof", Other),
            ("garage", Other),
        ] {
            assert_eq!(BuildingUse::of_kind(kind), want, "{kind}");
        }
        for (u, share) in [
            (Residential, 1.0),
            (Unknown, 0.7),
            (Mixed, 0.5),
            (Office, 0.0),
        ] {
            assert!((u.residential_share() - share).abs() < 1e-12, "{u:?}");
        }
        assert_eq!(BuildingUse::of_kind("building_part"), Other);
        for u in BuildingUse::ALL {
            let housing = matches!(u, Residential | Mixed | Unknown);
            assert_eq!(u.may_house(), housing, "{u:?}");
        }
    }
}
