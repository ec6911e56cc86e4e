//! Hazard-area reports and dispatch plans over the snapshot, as a caller
//! may see them (scope, and personal fields projected for their role).

use std::collections::BTreeMap;

use geo::Intersects;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde::Serialize;

use super::{area_contains, dispatch, Area, EmergencyIndex, Filter, Layers, Tally};
use crate::access::projection::{project_household, project_person, shows, PersonalField};
use crate::access::Caller;
use crate::cancel::{Cancel, Cancelled};
use crate::domain::{Household, Person};

/// A household as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HouseholdRow {
    pub id: i64,
    pub care: u8,
    pub care_name: String,
    pub grid: Option<String>,
    pub region: Option<String>,
    /// Personal fields: `None` (left out) when the caller's role does not see them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub head_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub size: u8,
    pub lon: f64,
    pub lat: f64,
}

/// A person as the report shows them.
#[derive(Debug, Clone, Serialize)]
pub struct PersonRow {
    pub id: i64,
    /// Personal fields: `None` (left out) when the caller's role does not see them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub roles: Vec<&'static str>,
    pub team: Option<String>,
    pub skills: Vec<String>,
    pub lon: f64,
    pub lat: f64,
    /// From the area (0 inside) or to the point asked about.
    pub distance_m: f64,
    pub walk_m: Option<f64>,
    /// Minutes at walking pace, to a tenth; only when walked by road.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub walk_min: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GridRow {
    pub code: String,
    pub level: u8,
    pub name: String,
    pub households_in_area: u64,
    pub staff: Vec<PersonRow>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AreaReport {
    pub households_total: u64,
    pub tally: Tally,
    /// Vulnerable households (care level ≥ 1), most vulnerable first.
    pub vulnerable: Vec<HouseholdRow>,
    pub grids: Vec<GridRow>,
    pub volunteers: Vec<PersonRow>,
}

pub fn person_row(p: &Person, caller: &Caller, distance_m: f64, walk_m: Option<f64>) -> PersonRow {
    let p = project_person(p, caller.role);
    let at = p.position();
    let shown = |f: PersonalField, v: String| shows(caller.role, f).then_some(v);
    PersonRow {
        id: p.id,
        name: shown(PersonalField::PersonName, p.name),
        phone: shown(PersonalField::PersonPhone, p.phone),
        roles: p.roles.iter().map(|r| r.as_str()).collect(),
        team: p.team,
        skills: p.skills,
        lon: at.x(),
        lat: at.y(),
        distance_m: (distance_m * 10.0).round() / 10.0,
        walk_m: walk_m.map(|w| (w * 10.0).round() / 10.0),
        walk_min: walk_m
            .map(|w| (w / crate::spatial::network::WALK_M_PER_S / 60.0 * 10.0).round() / 10.0),
    }
}

pub(crate) fn household_row(
    h: &Household,
    grid: Option<String>,
    caller: &Caller,
    care_names: &[String],
) -> HouseholdRow {
    let h = project_household(h, caller.role);
    let shown = |f: PersonalField, v: String| shows(caller.role, f).then_some(v);
    HouseholdRow {
        id: h.id,
        care: h.care.0,
        care_name: care_names
            .get(usize::from(h.care.0))
            .cloned()
            .unwrap_or_else(|| h.care.0.to_string()),
        grid,
        region: h.region.map(|r| r.to_string()),
        address: shown(PersonalField::HouseholdAddress, h.address),
        head_name: shown(PersonalField::HouseholdName, h.head_name),
        phone: shown(PersonalField::HouseholdPhone, h.phone),
        size: h.size,
        lon: h.location.x(),
        lat: h.location.y(),
    }
}

/// The area as polygons (a circle as a 64-gon), for intersection tests.
fn as_polygons(index: &EmergencyIndex, area: &Area) -> MultiPolygon<f64> {
    match area {
        Area::Polygon(mp) => mp.clone(),
        Area::Circle { center, radius_m } => {
            let c = index.proj.forward(*center);
            let ring: Vec<Coord<f64>> = (0..=64)
                .map(|i| {
                    let a = f64::from(i % 64) / 64.0 * std::f64::consts::TAU;
                    index.proj.inverse(Coord {
                        x: c.x + radius_m * a.cos(),
                        y: c.y + radius_m * a.sin(),
                    })
                })
                .collect();
            MultiPolygon(vec![Polygon::new(LineString(ring), vec![])])
        }
    }
}

/// Households in the area (in scope) that pass `keep`.
pub(crate) fn households_matching<'a>(
    s: &'a impl Layers,
    area: &Area,
    caller: &Caller,
    keep: impl Fn(&Household) -> bool,
    cancel: &Cancel,
) -> Result<Vec<&'a Household>, Cancelled> {
    let idx = s.index();
    let Some(bb) = idx.area_bbox(area, 0.0) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, h) in s.households_in(bb, &caller.scope).into_iter().enumerate() {
        if i % 1024 == 0 {
            cancel.check()?;
        }
        if keep(h) && area_contains(idx, area, h.location.0) {
            out.push(h);
        }
    }
    Ok(out)
}

/// Each household with its finest grid.
fn with_grids<'a>(
    s: &impl Layers,
    hs: Vec<&'a Household>,
    caller: &Caller,
    cancel: &Cancel,
) -> Result<Vec<(&'a Household, Option<String>)>, Cancelled> {
    let mut out = Vec::with_capacity(hs.len());
    for (i, h) in hs.into_iter().enumerate() {
        if i % 256 == 0 {
            cancel.check()?;
        }
        let gb = geo_types::Rect::new(h.location.0, h.location.0);
        let grids = s.grids_in(Some(gb), &caller.scope);
        let g = super::grid_of(&[], grids.into_iter(), h.location).map(|g| g.code.0.clone());
        out.push((h, g));
    }
    Ok(out)
}

/// What a hazard area holds.
pub fn report(
    s: &impl Layers,
    area: &Area,
    margin_m: f64,
    filter: &Filter,
    caller: &Caller,
    care_names: &[String],
    cancel: &Cancel,
) -> Result<AreaReport, Cancelled> {
    let hs = households_matching(s, area, caller, |_| true, cancel)?;
    let hs = with_grids(s, hs, caller, cancel)?;
    let mut tally = Tally::default();
    for (h, g) in &hs {
        *tally.by_care.entry(h.care.0).or_default() += 1;
        *tally
            .by_grid
            .entry(g.clone().unwrap_or_else(|| "-".into()))
            .or_default()
            .entry(h.care.0)
            .or_default() += 1;
    }
    let mut vulnerable: Vec<&(&Household, Option<String>)> =
        hs.iter().filter(|(h, _)| h.care.0 >= 1).collect();
    vulnerable.sort_by(|a, b| b.0.care.0.cmp(&a.0.care.0).then(a.0.id.cmp(&b.0.id)));
    let vulnerable = vulnerable
        .into_iter()
        .map(|(h, g)| household_row(h, g.clone(), caller, care_names))
        .collect();

    let shape = as_polygons(s.index(), area);
    let people = s.people();
    let mut in_area: BTreeMap<String, u64> = BTreeMap::new();
    for (_, g) in &hs {
        if let Some(g) = g {
            *in_area.entry(g.clone()).or_default() += 1;
        }
    }
    let mut grids = Vec::new();
    for g in s.grids_in(geo::BoundingRect::bounding_rect(&shape), &caller.scope) {
        cancel.check()?;
        if !g.geometry.intersects(&shape) {
            continue;
        }
        grids.push(GridRow {
            code: g.code.0.clone(),
            level: g.level.get(),
            name: g.name.clone(),
            households_in_area: in_area.get(&g.code.0).copied().unwrap_or(0),
            staff: people
                .iter()
                .filter(|p| p.grids.contains(&g.code) && caller.scope.contains_opt(p.region))
                .map(|p| person_row(p, caller, 0.0, None))
                .collect(),
        });
    }
    let volunteers = s
        .index()
        .volunteers_near(people, area, margin_m, filter, &caller.scope)
        .into_iter()
        .map(|f| person_row(&people[f.person], caller, f.straight_m, None))
        .collect();
    Ok(AreaReport {
        households_total: hs.len() as u64,
        tally,
        vulnerable,
        grids,
        volunteers,
    })
}

/// How a plan is made.
#[derive(Debug, Clone)]
pub struct PlanParams {
    /// Households one volunteer takes at most.
    pub capacity: usize,
    /// Farthest a volunteer is sent, metres.
    pub max_distance_m: f64,
    /// Lowest care level served (1: 关心户 and 连心户).
    pub min_care: u8,
    /// Volunteers considered: inside the area or this far from it.
    pub margin_m: f64,
    pub filter: Filter,
    /// Walk along roads when loaded (else straight lines).
    pub walk: bool,
    /// Most households one plan may pair (the work grows with their
    /// number times the volunteers'): more is [`PlanError::TooMany`].
    pub max_households: usize,
    /// Most volunteers one plan may consider.
    pub max_volunteers: usize,
    /// Send volunteers who are inside the hazard area themselves. Off by
    /// default: they are flagged ([`DispatchPlan::inside_area`]) and left
    /// out, since the water that reaches the households reaches them too;
    /// the officer may say otherwise.
    pub allow_inside: bool,
    /// Households already served (an incident's reached and evacuated)
    /// or someone is on the way to: left out of the plan.
    pub served: std::collections::HashSet<i64>,
}

/// Why no plan was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Cancelled(#[from] Cancelled),
    /// The area holds more than one plan may take; `limit` names it.
    #[error(
        "{got} {what} in one dispatch plan; at most {max}: make the area smaller or raise min_care"
    )]
    TooMany {
        limit: &'static str,
        what: &'static str,
        max: usize,
        got: usize,
    },
}

impl Default for PlanParams {
    fn default() -> Self {
        Self {
            capacity: 3,
            max_distance_m: 2000.0,
            min_care: 1,
            margin_m: 1000.0,
            filter: Filter::default(),
            walk: true,
            max_households: usize::MAX,
            max_volunteers: usize::MAX,
            allow_inside: false,
            served: std::collections::HashSet::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Stop {
    #[serde(flatten)]
    pub household: HouseholdRow,
    pub travel_m: f64,
    /// Minutes at walking pace, to a tenth.
    pub walk_min: f64,
    /// `road` when walked along the network the plan was made on, else
    /// `straight` (no roads loaded, walking turned off, or a place off the
    /// network).
    pub along: &'static str,
    /// The way from the volunteer to the household, lon/lat: what the map
    /// draws instead of a straight line across a river.
    pub path: Vec<[f64; 2]>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Route {
    pub volunteer: PersonRow,
    pub households: Vec<Stop>,
    pub travel_m: f64,
    /// Minutes at walking pace over all the route's ways, to a tenth.
    pub walk_min: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unserved {
    #[serde(flatten)]
    pub household: HouseholdRow,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DispatchPlan {
    pub method: &'static str,
    pub capacity: usize,
    pub max_distance_m: f64,
    pub households: usize,
    pub served: usize,
    pub total_travel_m: f64,
    pub routes: Vec<Route>,
    pub unserved: Vec<Unserved>,
    /// Whether volunteers inside the area were sent ([`PlanParams::allow_inside`]).
    pub allow_inside: bool,
    /// Qualifying volunteers inside the hazard area, flagged: left out of
    /// the plan unless `allow_inside`.
    pub inside_area: Vec<PersonRow>,
}

/// Pairs available volunteers with the area's vulnerable households.
#[allow(
    clippy::too_many_lines,
    reason = "the dispatch plan's steps in order (candidates, costs, min-cost flow, unserved) sharing the cancel checks"
)]
pub fn plan(
    s: &impl Layers,
    area: &Area,
    p: &PlanParams,
    caller: &Caller,
    care_names: &[String],
    cancel: &Cancel,
) -> Result<DispatchPlan, PlanError> {
    let idx = s.index();
    let people = s.people();
    let started = std::time::Instant::now();
    // Counted before anything costly is done for them.
    let hs = households_matching(
        s,
        area,
        caller,
        |h| h.care.0 >= p.min_care && !p.served.contains(&h.id),
        cancel,
    )?;
    if hs.len() > p.max_households {
        return Err(PlanError::TooMany {
            limit: "dispatch_households",
            what: "households",
            max: p.max_households,
            got: hs.len(),
        });
    }
    let reach = p.margin_m.max(p.max_distance_m);
    let near = idx.volunteers_near(people, area, reach, &p.filter, &caller.scope);
    // Inside is distance 0 (edges included), as `distance_to_area` says.
    let inside_area: Vec<PersonRow> = near
        .iter()
        .filter(|f| f.straight_m <= 0.0)
        .map(|f| person_row(&people[f.person], caller, 0.0, None))
        .collect();
    let vols: Vec<usize> = near
        .into_iter()
        .filter(|f| p.allow_inside || f.straight_m > 0.0)
        .map(|f| f.person)
        .collect();
    if vols.len() > p.max_volunteers {
        return Err(PlanError::TooMany {
            limit: "dispatch_volunteers",
            what: "volunteers within reach",
            max: p.max_volunteers,
            got: vols.len(),
        });
    }
    let t_near = started.elapsed();
    let mut hs = with_grids(s, hs, caller, cancel)?;
    hs.sort_by(|a, b| b.0.care.0.cmp(&a.0.care.0).then(a.0.id.cmp(&b.0.id)));
    let hh: Vec<&Household> = hs.iter().map(|(h, _)| *h).collect();
    let t_grids = started.elapsed();
    let travel = idx.travel(people, &vols, &hh, p.max_distance_m, p.walk, cancel)?;
    let t_travel = started.elapsed();
    let demands: Vec<dispatch::Demand> = hh
        .iter()
        .zip(&travel)
        .map(|(h, t)| dispatch::Demand {
            priority: h.care.0,
            travel: t.clone(),
        })
        .collect();
    let got = dispatch::assign(&demands, vols.len(), p.capacity, cancel)?;
    let t_assign = started.elapsed();

    let mut routes: BTreeMap<usize, Route> = BTreeMap::new();
    let mut unserved = Vec::new();
    for (i, (h, g)) in hs.iter().enumerate() {
        let row = household_row(h, g.clone(), caller, care_names);
        match got[i] {
            Some(j) => {
                let m = travel[i].iter().find(|t| t.0 == j).map_or(0.0, |t| t.1);
                let r = routes.entry(j).or_insert_with(|| Route {
                    volunteer: person_row(&people[vols[j]], caller, 0.0, None),
                    households: Vec::new(),
                    travel_m: 0.0,
                    walk_min: 0.0,
                });
                let (along, path) = way(idx, people[vols[j]].position().0, h.location.0, m, p);
                r.households.push(Stop {
                    household: row,
                    travel_m: (m * 10.0).round() / 10.0,
                    walk_min: minutes(m),
                    along,
                    path,
                });
                r.travel_m += m;
            }
            None => {
                let reason = if !travel[i].is_empty() {
                    format!(
                        "volunteers within reach are all taken ({} households each)",
                        p.capacity
                    )
                } else if p.filter.skills.is_empty() {
                    format!(
                        "no available reserve volunteer within {} m",
                        p.max_distance_m
                    )
                } else {
                    let any = Filter {
                        skills: Vec::new(),
                        ..p.filter.clone()
                    };
                    let near = idx.volunteers_near(people, area, reach, &any, &caller.scope);
                    let loose: Vec<usize> = near.into_iter().map(|f| f.person).collect();
                    let t = idx.travel(people, &loose, &[h], p.max_distance_m, p.walk, cancel)?;
                    if t[0].is_empty() {
                        format!(
                            "no available reserve volunteer within {} m",
                            p.max_distance_m
                        )
                    } else {
                        format!(
                            "no volunteer with {} within {} m",
                            p.filter.skills.join("、"),
                            p.max_distance_m
                        )
                    }
                };
                unserved.push(Unserved {
                    household: row,
                    reason,
                });
            }
        }
    }
    let mut routes: Vec<Route> = routes.into_values().collect();
    for r in &mut routes {
        r.walk_min = minutes(r.travel_m);
        r.travel_m = (r.travel_m * 10.0).round() / 10.0;
    }
    routes.sort_by(|a, b| a.volunteer.id.cmp(&b.volunteer.id));
    let served = routes.iter().map(|r| r.households.len()).sum();
    tracing::debug!(
        households = hs.len(),
        volunteers = vols.len(),
        near_ms = t_near.as_millis(),
        grids_ms = t_grids.saturating_sub(t_near).as_millis(),
        travel_ms = t_travel.saturating_sub(t_grids).as_millis(),
        assign_ms = t_assign.saturating_sub(t_travel).as_millis(),
        routes_ms = started.elapsed().saturating_sub(t_assign).as_millis(),
        "dispatch plan"
    );
    let total = routes.iter().map(|r| r.travel_m).sum::<f64>();
    Ok(DispatchPlan {
        method: "exact: min-cost flow (successive shortest paths), most vulnerable first, then least total travel",
        capacity: p.capacity,
        max_distance_m: p.max_distance_m,
        households: hs.len(),
        served,
        total_travel_m: (total * 10.0).round() / 10.0,
        routes,
        unserved,
        allow_inside: p.allow_inside,
        inside_area,
    })
}

/// Minutes at walking pace for `m` metres, to a tenth.
fn minutes(m: f64) -> f64 {
    (m / crate::spatial::network::WALK_M_PER_S / 6.0).round() / 10.0
}

/// The way a volunteer at `from` takes to a household at `to`, `m` metres
/// as the plan measured it: along the walking network when the plan
/// walked, else straight.
fn way(
    idx: &EmergencyIndex,
    from: Coord<f64>,
    to: Coord<f64>,
    m: f64,
    p: &PlanParams,
) -> (&'static str, Vec<[f64; 2]>) {
    let walked = idx
        .walking()
        .filter(|_| p.walk)
        // The limit a little over what the plan measured, for rounding.
        .and_then(|w| w.path(from, to, m + 1.0))
        .filter(|(_, got)| (got - m).abs() < 0.5);
    match walked {
        Some((line, _)) => ("road", line.0.iter().map(|c| [c.x, c.y]).collect()),
        None => ("straight", vec![[from.x, from.y], [to.x, to.y]]),
    }
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::access::{Role, Scope};
    use crate::domain::{Availability, CareLevel, ImportedGrid, SensitiveFlags};
    use geo_types::{Point, Rect};

    /// The layers of a small made-up place: no roads, no grids.
    struct Place {
        index: EmergencyIndex,
        people: Vec<Person>,
        households: Vec<Household>,
    }

    impl Layers for Place {
        fn index(&self) -> &EmergencyIndex {
            &self.index
        }
        fn people(&self) -> &[Person] {
            &self.people
        }
        fn households_in(&self, bbox: Rect<f64>, _: &Scope) -> Vec<&Household> {
            use geo::Intersects;
            self.households
                .iter()
                .filter(|h| bbox.intersects(&h.location))
                .collect()
        }
        fn grids_in(&self, _: Option<Rect<f64>>, _: &Scope) -> Vec<&ImportedGrid> {
            Vec::new()
        }
    }

    fn at(i: i64, lon: f64, lat: f64) -> (i64, Point<f64>) {
        (i, Point::new(lon, lat))
    }

    /// Random small places: a circle of 300 m, four 关心户 in it, volunteers
    /// in and around it. Those inside are flagged and never sent; what is
    /// sent is still the best dispatch over the others (most served, then
    /// least travel), by brute force over every assignment; allowed, the
    /// ones inside may go.
    #[test]
    fn volunteers_inside_are_flagged_and_the_plan_stays_optimal_over_the_rest() {
        let mut seed = 11u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 33) as f64 / (1u64 << 31) as f64
        };
        let caller = Caller::of_user("t", Role::Emergency, &["*".to_string()]);
        let centre = (108.0, 32.0);
        // About 0.0032° of latitude is 355 m; the circle is 300 m.
        let area = Area::Circle {
            center: Coord {
                x: centre.0,
                y: centre.1,
            },
            radius_m: 300.0,
        };
        let params = PlanParams {
            capacity: 2,
            max_distance_m: 1500.0,
            margin_m: 1500.0,
            walk: false,
            ..PlanParams::default()
        };
        let mut flagged_somewhere = 0;
        for _ in 0..60 {
            let households: Vec<Household> = (0..4)
                .map(|i| {
                    let (_, p) = at(
                        i,
                        centre.0 + (rnd() - 0.5) * 0.004,
                        centre.1 + (rnd() - 0.5) * 0.004,
                    );
                    Household {
                        id: 100 + i,
                        location: p,
                        size: 1,
                        care: CareLevel(1),
                        flags: SensitiveFlags::default(),
                        building: None,
                        address: String::new(),
                        head_name: String::new(),
                        phone: String::new(),
                        region: None,
                        estimated: false,
                    }
                })
                .collect();
            let people: Vec<Person> = (0..4)
                .map(|i| {
                    let (_, p) = at(
                        i,
                        centre.0 + (rnd() - 0.5) * 0.02,
                        centre.1 + (rnd() - 0.5) * 0.016,
                    );
                    Person {
                        id: i + 1,
                        name: format!("志愿者{i}"),
                        phone: String::new(),
                        roles: vec![crate::domain::Role::Volunteer],
                        team: None,
                        skills: Vec::new(),
                        status: Availability::OnDuty,
                        reserve: true,
                        home: p,
                        checkin: None,
                        grids: Vec::new(),
                        region: None,
                    }
                })
                .collect();
            let place = Place {
                index: EmergencyIndex::build(&people, &[], None),
                people,
                households,
            };
            let hs: Vec<&Household> = place
                .households
                .iter()
                .filter(|h| area_contains(&place.index, &area, h.location.0))
                .collect();
            let inside: Vec<i64> = place
                .people
                .iter()
                .filter(|p| area_contains(&place.index, &area, p.home.0))
                .map(|p| p.id)
                .collect();
            flagged_somewhere += usize::from(!inside.is_empty());
            let plan = plan(&place, &area, &params, &caller, &[], &Cancel::never()).unwrap();
            let flagged: Vec<i64> = plan.inside_area.iter().map(|p| p.id).collect();
            let mut sorted = flagged.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, inside, "every volunteer inside is flagged");
            assert!(
                plan.routes
                    .iter()
                    .all(|r| !inside.contains(&r.volunteer.id)),
                "nobody inside is sent"
            );

            // Brute force over the volunteers allowed.
            let allowed: Vec<usize> = (0..place.people.len())
                .filter(|&i| !inside.contains(&place.people[i].id))
                .collect();
            let travel = place
                .index
                .travel(
                    &place.people,
                    &allowed,
                    &hs,
                    params.max_distance_m,
                    false,
                    &Cancel::never(),
                )
                .unwrap();
            let (n, v) = (hs.len(), allowed.len());
            let mut best = (0usize, f64::INFINITY);
            for code in 0..(v + 1).pow(n as u32) {
                let (mut c, mut a) = (code, vec![None; n]);
                for slot in &mut a {
                    let x = c % (v + 1);
                    c /= v + 1;
                    *slot = (x < v).then_some(x);
                }
                let cost: Option<f64> = a
                    .iter()
                    .enumerate()
                    .filter_map(|(i, x)| {
                        x.map(|j| travel[i].iter().find(|t| t.0 == j).map(|t| t.1))
                    })
                    .sum();
                let fits =
                    (0..v).all(|j| a.iter().filter(|x| **x == Some(j)).count() <= params.capacity);
                if let (Some(m), true) = (cost, fits) {
                    let served = a.iter().filter(|x| x.is_some()).count();
                    if served > best.0 || (served == best.0 && m < best.1) {
                        best = (served, m);
                    }
                }
            }
            assert_eq!(plan.served, best.0);
            let best_m = if best.0 == 0 { 0.0 } else { best.1 };
            assert!(
                (plan.total_travel_m - best_m).abs() < 0.5,
                "{} vs {best_m}",
                plan.total_travel_m
            );

            // Allowed: the ones inside may be sent, and the plan does no worse.
            let mut let_go = params.clone();
            let_go.allow_inside = true;
            let all = super::plan(&place, &area, &let_go, &caller, &[], &Cancel::never()).unwrap();
            assert!(all.allow_inside && all.served >= plan.served);
        }
        assert!(
            flagged_somewhere > 10,
            "the instances put volunteers inside: {flagged_somewhere}"
        );
    }

    #[test]
    fn rows_leave_out_what_the_role_does_not_see() {
        let p = crate::store::suite::sample()
            .into_iter()
            .find_map(|r| match r {
                crate::domain::Record::Person(p) => Some(p),
                _ => None,
            })
            .unwrap();
        let row = |role| {
            let caller = Caller::of_user("t", role, &["*".to_string()]);
            serde_json::to_value(person_row(&p, &caller, 0.0, None)).unwrap()
        };
        let office = row(Role::Office);
        assert_eq!(
            (office["name"].as_str(), office["phone"].as_str()),
            (Some("李四"), Some("13900001111"))
        );
        let planner = row(Role::Planner);
        assert_eq!(planner["phone"], "139****1111", "masked, not hidden");
        let viewer = row(Role::Viewer);
        assert!(
            viewer.get("name").is_none() && viewer.get("phone").is_none(),
            "{viewer}"
        );
    }
}
