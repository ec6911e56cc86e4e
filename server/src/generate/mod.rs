//! A deterministic synthetic city for demos, tests and benchmarks: streets
//! and communities with 12-digit codes, a street network with a river and a
//! railway, blocks, buildings, households in buildings, and staff and
//! volunteers at Ankang's ratios, with deliberate coverage gaps.
//!
//! Everything is drawn from one PCG stream seeded by `seed`, in a fixed
//! order, so a seed always gives the same city. Figures that the issue fixes
//! (care-level shares, staff per household) are assigned as exact quotas,
//! not sampled, so they hold at any size.

pub mod city;
pub mod grids;
pub mod names;

use std::collections::{BTreeMap, HashMap, HashSet};

use geo_types::{coord, Coord, MultiPolygon, Point};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::domain::Record;
use crate::domain::{
    Building, CareLevel, GridCode, Household, ImportedGrid, Level, Person, Region, RegionCode,
    Road, Role, SensitiveFlags, Water, WaterKind,
};
use crate::spatial::projection::LocalProjection;
use city::City;

/// Lattice cells per community side; streets are 3 × 3 communities.
pub const COMMUNITY_CELLS: usize = 3;
const STREET_COMMUNITIES: usize = 3;

/// Ankang's published figures per 349,028 households.
pub const ANKANG_HOUSEHOLDS: f64 = 349_028.0;
pub const ANKANG_STAFF: [(Role, f64); 5] = [
    (Role::GridLeader, 718.0),
    (Role::FullTimeWorker, 2_834.0),
    (Role::PartTimeWorker, 6_886.0),
    (Role::BuildingHead, 6_329.0),
    (Role::PartyHousehold, 8_253.0),
];
/// Care-level shares (放心户, 关心户, 连心户) Ankang reports.
pub const CARE_SHARES: [f64; 3] = [0.920, 0.054, 0.026];
/// Volunteers per household and team size; 70% of teams are in the
/// emergency reserve, as in Hancheng.
const VOLUNTEERS_PER_HOUSEHOLD: f64 = 1.0 / 50.0;
const TEAM_SIZE: usize = 20;
pub const RESERVE_SHARE: f64 = 0.7;
/// One community in this many has no carers at all: a gap to find.
const GAP_EVERY: usize = 7;

pub const SKILLS: [&str; 7] = [
    "急救",
    "水上救援",
    "驾驶",
    "医护",
    "心理疏导",
    "电工",
    "搬运",
];

/// Ankang, 汉滨区: where the city is placed.
const DISTRICT: &str = "610902";
const ORIGIN: Coord<f64> = coord! { x: 108.98, y: 32.66 };

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    pub households: u64,
    pub seed: u64,
}

/// The generated city: records for the store plus the blocks (not a store
/// layer, kept for tests and atoms).
pub struct Generated {
    pub city: City,
    pub regions: Vec<Region>,
    pub roads: Vec<Road>,
    pub water: Vec<Water>,
    pub buildings: Vec<Building>,
    pub households: Vec<Household>,
    pub people: Vec<Person>,
    /// Block index of each household's building.
    pub household_block: Vec<usize>,
    /// Communities deliberately left without carers.
    pub gap_communities: Vec<RegionCode>,
    /// The grids the city drew by hand, with defects planted in them.
    pub grids: Vec<ImportedGrid>,
    pub planted: Vec<grids::Planted>,
    projection: LocalProjection,
}

impl Generated {
    /// Metres → lon/lat.
    pub fn to_lonlat(&self, c: Coord<f64>) -> Coord<f64> {
        self.projection.inverse(c)
    }

    /// Lon/lat → metres.
    pub fn to_metres(&self, c: Coord<f64>) -> Coord<f64> {
        self.projection.forward(c)
    }

    /// Every record, layer by layer.
    pub fn into_records(self) -> impl Iterator<Item = Record> {
        self.regions
            .into_iter()
            .map(Record::Region)
            .chain(self.roads.into_iter().map(Record::Road))
            .chain(self.water.into_iter().map(Record::Water))
            .chain(self.buildings.into_iter().map(Record::Building))
            .chain(self.households.into_iter().map(Record::Household))
            .chain(self.people.into_iter().map(Record::Person))
            .chain(self.grids.into_iter().map(Record::Grid))
    }
}

/// Exact quota of `share` of `n`.
fn quota(n: u64, share: f64) -> usize {
    (n as f64 * share).round() as usize
}

/// Generates a city. `progress` is told the phase done (0-5).
pub fn generate(p: Params, progress: &mut dyn FnMut(&str)) -> Generated {
    let mut rng = Pcg64Mcg::seed_from_u64(p.seed);
    let city = City::generate(p.households, &mut rng);
    progress("streets, blocks and buildings");
    // The local plane's origin sits at ORIGIN.
    let projection = LocalProjection::new(ORIGIN);
    let Regions {
        regions,
        district,
        community_of_cell,
        community_names,
    } = regions(&city, &projection);
    let gap_communities: Vec<RegionCode> = regions
        .iter()
        .filter(|r| r.code.significant().len() == 12)
        .map(|r| r.code)
        .skip(3)
        .step_by(GAP_EVERY)
        .collect();
    let (drawn, planted) = grids::draw(&city, &community_of_cell);
    let imported = imported_grids(&drawn, &community_names, &projection);
    progress("streets and communities");

    let roads = roads(&city, &projection);
    let water = water(&city, &projection);
    let buildings = buildings(&city, &projection);
    let Placed {
        mut households,
        household_block,
        household_xy,
    } = place_households(
        &city,
        &community_of_cell,
        p.households,
        &projection,
        &mut rng,
    );
    assign_care(&mut households, &mut rng);
    progress("households");

    let mut staff = Staff {
        households: &households,
        drawn: &drawn,
        people: Vec::new(),
    };
    let gaps: HashSet<RegionCode> = gap_communities.iter().copied().collect();
    staff.staff_grids(&gaps, &household_xy, &mut rng);
    staff.volunteer_teams(district, &community_names, &mut rng);
    let people = staff.people;
    progress("staff and volunteers");

    Generated {
        city,
        regions,
        roads,
        water,
        buildings,
        households,
        people,
        household_block,
        gap_communities,
        grids: imported,
        planted,
        projection,
    }
}

/// The district, its streets (街道) and their communities (社区), chunks
/// of the city's cells, and which community each cell is in.
struct Regions {
    regions: Vec<Region>,
    district: RegionCode,
    community_of_cell: Vec<RegionCode>,
    community_names: HashMap<RegionCode, String>,
}

fn regions(city: &City, projection: &LocalProjection) -> Regions {
    let poly_ll = |poly: &geo_types::Polygon<f64>| projection.unproject(poly);
    let mut regions = Vec::new();
    let district: RegionCode = DISTRICT.parse().expect("valid");
    regions.push(Region {
        code: district,
        name: "汉滨区".into(),
        parent: None,
        boundary: MultiPolygon(vec![poly_ll(&city.cells_polygon(
            0,
            city.width,
            0,
            city.height,
        ))]),
    });
    let chunk = COMMUNITY_CELLS * STREET_COMMUNITIES;
    let mut community_of_cell =
        vec![RegionCode::from_u64(0).unwrap_or(district); city.width * city.height];
    let mut community_names = HashMap::new();
    let mut street_no = 0;
    for sj in (0..city.height).step_by(chunk) {
        for si in (0..city.width).step_by(chunk) {
            street_no += 1;
            let street: RegionCode = format!("{DISTRICT}{street_no:03}").parse().expect("valid");
            let (i1, j1) = ((si + chunk).min(city.width), (sj + chunk).min(city.height));
            regions.push(Region {
                code: street,
                name: format!("{}街道", names::place(street_no * 7)),
                parent: Some(district),
                boundary: MultiPolygon(vec![poly_ll(&city.cells_polygon(si, i1, sj, j1))]),
            });
            let mut community_no = 0;
            for cj in (sj..j1).step_by(COMMUNITY_CELLS) {
                for ci in (si..i1).step_by(COMMUNITY_CELLS) {
                    community_no += 1;
                    let code: RegionCode = format!("{DISTRICT}{street_no:03}{community_no:03}")
                        .parse()
                        .expect("valid");
                    let (k1, l1) = (
                        (ci + COMMUNITY_CELLS).min(i1),
                        (cj + COMMUNITY_CELLS).min(j1),
                    );
                    let name = format!(
                        "{}社区",
                        names::place(street_no * 13 + community_no * 3 + 1)
                    );
                    community_names.insert(code, name.clone());
                    regions.push(Region {
                        code,
                        name,
                        parent: Some(street),
                        boundary: MultiPolygon(vec![poly_ll(&city.cells_polygon(ci, k1, cj, l1))]),
                    });
                    for j in cj..l1 {
                        for i in ci..k1 {
                            community_of_cell[j * city.width + i] = code;
                        }
                    }
                }
            }
        }
    }
    Regions {
        regions,
        district,
        community_of_cell,
        community_names,
    }
}

/// The grids the city drew, as records.
fn imported_grids(
    drawn: &[grids::DrawnGrid],
    community_names: &HashMap<RegionCode, String>,
    projection: &LocalProjection,
) -> Vec<ImportedGrid> {
    drawn
        .iter()
        .enumerate()
        .map(|(i, g)| ImportedGrid {
            id: i as i64 + 1,
            region: g.region,
            level: Level::new(g.level).expect("1-3"),
            code: GridCode(g.code.clone()),
            name: format!(
                "{}第{}网格",
                community_names.get(&g.region).map_or("", String::as_str),
                &g.code[12..]
            ),
            parent: g.parent.clone().map(GridCode),
            geometry: projection.unproject(&grids::clean(g.polygon.clone())),
        })
        .collect()
}

fn roads(city: &City, projection: &LocalProjection) -> Vec<Road> {
    city.streets
        .iter()
        .enumerate()
        .map(|(i, s)| Road {
            id: i as i64 + 1,
            class: s.class,
            name: s.name.clone(),
            grade: crate::domain::Grade::Surface,
            geometry: s.line.0.iter().map(|c| projection.inverse(*c)).collect(),
        })
        .collect()
}

/// The river as an area and as its centre line.
fn water(city: &City, projection: &LocalProjection) -> Vec<Water> {
    vec![
        Water {
            id: 1,
            kind: WaterKind::Area,
            name: "汉江".into(),
            geometry: MultiPolygon(vec![projection.unproject(&city.river)]).into(),
        },
        Water {
            id: 2,
            kind: WaterKind::River,
            name: "汉江".into(),
            geometry: city
                .river_line
                .0
                .iter()
                .map(|c| projection.inverse(*c))
                .collect::<geo_types::LineString<f64>>()
                .into(),
        },
    ]
}

fn buildings(city: &City, projection: &LocalProjection) -> Vec<Building> {
    city.houses
        .iter()
        .enumerate()
        .map(|(i, h)| Building {
            id: i as i64 + 1,
            levels: Some(h.levels),
            height_m: Some(f64::from(h.levels) * 3.0),
            kind: h.kind.to_string(),
            geometry: MultiPolygon(vec![projection.unproject(&h.footprint)]),
        })
        .collect()
}

/// Households with the block of their building and where they live in
/// metres.
struct Placed {
    households: Vec<Household>,
    household_block: Vec<usize>,
    household_xy: Vec<Coord<f64>>,
}

/// Households: exactly `count`, spread over buildings by dwelling capacity.
fn place_households(
    city: &City,
    community_of_cell: &[RegionCode],
    count: u64,
    projection: &LocalProjection,
    rng: &mut Pcg64Mcg,
) -> Placed {
    let total: f64 = city.houses.iter().map(|h| h.dwellings).sum();
    let mut households = Vec::with_capacity(count as usize);
    let mut household_block = Vec::with_capacity(count as usize);
    let mut cumulative = 0.0;
    let mut assigned = 0u64;
    let mut household_xy: Vec<Coord<f64>> = Vec::with_capacity(count as usize);
    for (bi, h) in city.houses.iter().enumerate() {
        cumulative += h.dwellings;
        let upto = ((cumulative / total) * count as f64).round() as u64;
        let n = upto.saturating_sub(assigned);
        let block = &city.blocks[h.block];
        let region = community_of_cell[block.cell.1 * city.width + block.cell.0];
        let rect = geo::BoundingRect::bounding_rect(&h.footprint).expect("footprint");
        for k in 0..n {
            let c = coord! {
                x: rect.min().x + 1.0 + rng.random::<f64>() * (rect.width() - 2.0),
                y: rect.min().y + 1.0 + rng.random::<f64>() * (rect.height() - 2.0),
            };
            let floor = 1 + k as u16 % h.levels;
            let size: u8 = [1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5][rng.random_range(0..12)];
            households.push(Household {
                id: households.len() as i64 + 1,
                location: Point(projection.inverse(c)),
                size,
                care: CareLevel::REASSURED,
                flags: SensitiveFlags::default(),
                building: Some(bi as i64 + 1),
                address: format!(
                    "{}{}号{}栋{}单元{}{:02}室",
                    block.road,
                    h.block + 1,
                    bi + 1,
                    1 + k / 40,
                    floor,
                    1 + k % 4
                ),
                head_name: names::person(rng.random()),
                phone: names::phone(rng.random()),
                region: Some(region),
                estimated: false,
            });
            household_block.push(h.block);
            household_xy.push(c);
        }
        assigned += n;
    }
    Placed {
        households,
        household_block,
        household_xy,
    }
}

/// Care levels as exact quotas over a shuffled order; vulnerable
/// households carry the flags that made them so.
fn assign_care(households: &mut [Household], rng: &mut Pcg64Mcg) {
    let mut order: Vec<usize> = (0..households.len()).collect();
    order.shuffle(rng);
    let n = households.len() as u64;
    let (connected, cared) = (quota(n, CARE_SHARES[2]), quota(n, CARE_SHARES[1]));
    for (rank, &i) in order.iter().enumerate() {
        let h = &mut households[i];
        if rank < connected {
            h.care = CareLevel::CONNECTED;
            h.flags = SensitiveFlags(
                [
                    SensitiveFlags::ELDERLY_ALONE,
                    SensitiveFlags::DISABILITY,
                    SensitiveFlags::ELDERLY_ALONE | SensitiveFlags::MOBILITY,
                ][rank % 3],
            );
            h.size = 1 + (rank % 2) as u8;
        } else if rank < connected + cared {
            h.care = CareLevel::CARED;
            h.flags = SensitiveFlags(
                [
                    SensitiveFlags::CHRONIC_ILLNESS,
                    SensitiveFlags::LOW_INCOME,
                    SensitiveFlags::LEFT_BEHIND_CHILD,
                ][rank % 3],
            );
        }
    }
}

/// The people of the city being made: staff of the drawn grids and
/// volunteers, each living in one of the households.
struct Staff<'a> {
    households: &'a [Household],
    drawn: &'a [grids::DrawnGrid],
    people: Vec<Person>,
}

impl Staff<'_> {
    /// One person living at household `home`: staff in `role` (of `grid`),
    /// or a volunteer with skills when `role` is `None`.
    fn add(
        &mut self,
        role: Option<Role>,
        home: usize,
        rng: &mut Pcg64Mcg,
        team: Option<String>,
        reserve: bool,
        grid: Option<usize>,
    ) {
        let h = &self.households[home];
        let skills = if role.is_none() {
            let k = rng.random_range(1..=3);
            let mut s: Vec<String> = SKILLS
                .choose_multiple(rng, k)
                .map(|s| (*s).to_string())
                .collect();
            s.sort();
            s
        } else {
            Vec::new()
        };
        self.people.push(Person {
            id: self.people.len() as i64 + 1,
            name: if role == Some(Role::PartyHousehold) {
                h.head_name.clone()
            } else {
                names::person(rng.random())
            },
            phone: names::phone(rng.random()),
            roles: vec![role.unwrap_or(Role::Volunteer)],
            team,
            skills,
            status: crate::domain::Availability::from_available(rng.random_bool(0.85)),
            checkin: None,
            reserve,
            home: h.location,
            grids: grid
                .map(|g| GridCode(self.drawn[g].code.clone()))
                .into_iter()
                .collect(),
            region: h.region,
        });
    }

    /// Staff: exact quotas at Ankang's ratios, in the communities that are
    /// not left as gaps. Each is assigned to a grid (leaders to level-1
    /// grids, everyone else to level-3 grids), dealt round the grids so
    /// every grid gets one before any gets two, and lives in that grid.
    fn staff_grids(
        &mut self,
        gaps: &HashSet<RegionCode>,
        household_xy: &[Coord<f64>],
        rng: &mut Pcg64Mcg,
    ) {
        let drawn = self.drawn;
        let in_grid = households_in_grids(drawn, household_xy);
        let staffed_grids = |level: u8| -> Vec<usize> {
            (0..drawn.len())
                .filter(|&g| {
                    drawn[g].level == level
                        && !gaps.contains(&drawn[g].region)
                        && !in_grid[g].is_empty()
                })
                .collect()
        };
        let (level1, level3) = (staffed_grids(1), staffed_grids(3));
        let n = self.households.len() as u64;
        for (role, per_ankang) in ANKANG_STAFF {
            let k = quota(n, per_ankang / ANKANG_HOUSEHOLDS);
            let deck = if role == Role::GridLeader {
                &level1
            } else {
                &level3
            };
            if deck.is_empty() {
                continue;
            }
            for i in 0..k {
                let g = deck[i % deck.len()];
                let home = in_grid[g][rng.random_range(0..in_grid[g].len())];
                self.add(Some(role), home, rng, None, false, Some(g));
            }
        }
    }

    /// Volunteers in teams per community chain; 70% of teams in the reserve.
    fn volunteer_teams(
        &mut self,
        district: RegionCode,
        community_names: &HashMap<RegionCode, String>,
        rng: &mut Pcg64Mcg,
    ) {
        let households = self.households;
        let n = households.len() as u64;
        let volunteers = quota(n, VOLUNTEERS_PER_HOUSEHOLD).max(1);
        let teams = volunteers.div_ceil(TEAM_SIZE);
        let reserve_teams = ((teams as f64) * RESERVE_SHARE).round() as usize;
        let mut team_reserve: Vec<bool> = (0..teams).map(|t| t < reserve_teams).collect();
        team_reserve.shuffle(rng);
        let mut by_community: BTreeMap<RegionCode, Vec<usize>> = BTreeMap::new();
        for (i, h) in households.iter().enumerate() {
            by_community
                .entry(h.region.unwrap_or(district))
                .or_default()
                .push(i);
        }
        let community_list: Vec<&Vec<usize>> = by_community.values().collect();
        for team in 0..teams {
            if community_list.is_empty() {
                break;
            }
            // A team lives in one community, as real teams do.
            let members = &community_list[rng.random_range(0..community_list.len())];
            let region = households[members[0]].region.unwrap_or(district);
            let name = format!(
                "{}应急志愿队",
                community_names
                    .get(&region)
                    .map_or("汉滨区", String::as_str)
            );
            let size = TEAM_SIZE.min(volunteers - team * TEAM_SIZE);
            for _ in 0..size {
                let home = members[rng.random_range(0..members.len())];
                self.add(
                    None,
                    home,
                    rng,
                    Some(name.clone()),
                    team_reserve[team],
                    None,
                );
            }
        }
    }
}

/// The households (by position) in each drawn level-1 and level-3 grid:
/// for each level, the first by code of the grids holding the household.
fn households_in_grids(drawn: &[grids::DrawnGrid], household_xy: &[Coord<f64>]) -> Vec<Vec<usize>> {
    let tree = rstar::RTree::bulk_load(
        drawn
            .iter()
            .enumerate()
            .filter_map(|(i, g)| {
                let r = geo::BoundingRect::bounding_rect(&g.polygon)?;
                Some(rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners(
                        [r.min().x, r.min().y],
                        [r.max().x, r.max().y],
                    ),
                    i,
                ))
            })
            .collect(),
    );
    // The first drawn grid by code of a level holding a point in metres.
    let grid_at = |c: Coord<f64>, level: u8| -> Option<usize> {
        let mut hits: Vec<usize> = tree
            .locate_in_envelope_intersecting(&rstar::AABB::from_point([c.x, c.y]))
            .map(|e| e.data)
            .filter(|&i| {
                drawn[i].level == level
                    && geo::Intersects::intersects(&drawn[i].polygon, &geo_types::Point(c))
            })
            .collect();
        hits.sort_by(|a, b| drawn[*a].code.cmp(&drawn[*b].code));
        hits.first().copied()
    };
    let mut in_grid: Vec<Vec<usize>> = vec![Vec::new(); drawn.len()];
    for (i, c) in household_xy.iter().enumerate() {
        for level in [1, 3] {
            if let Some(g) = grid_at(*c, level) {
                in_grid[g].push(i);
            }
        }
    }
    in_grid
}

#[cfg(test)]
mod tests;
