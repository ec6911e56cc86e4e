//! Emergency: the nearest available reserve volunteers to a point (straight
//! line from the R-tree, and walking along the road network), what a hazard
//! area holds, and a dispatch plan pairing volunteers with the vulnerable
//! households in it ([`dispatch`]). Everything works in local metres and
//! reads the layers ([`Layers`], the snapshot's) through the caller's
//! scope; the walking network is [`crate::spatial::network`]'s.

pub mod area;
pub mod dispatch;
pub mod output;

/// The walking network moved to [`crate::spatial::network`]; this path
/// stays for callers that name it here.
pub use crate::spatial::network;

use std::collections::{BTreeMap, HashMap};

use geo::{BoundingRect, Contains, Distance, Euclidean, Intersects};
use geo_types::{Coord, MultiPolygon, Point, Rect};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};

use crate::access::Scope;
use crate::domain::{Household, ImportedGrid, Person, Road};
use crate::spatial::network::{Network, Snap, Walking};
use crate::spatial::projection::LocalProjection;

type Entry = GeomWithData<[f64; 2], u32>;

/// What the hazard-area answers ([`area`]) read: the index and the layers
/// as a caller's scope sees them. The snapshot provides it; emergency
/// does not know the snapshot.
pub trait Layers {
    fn index(&self) -> &EmergencyIndex;
    /// Every person, by position (what [`Found::person`] counts).
    fn people(&self) -> &[Person];
    /// Households in `scope` whose point lies in `bbox`, in id order.
    fn households_in(&self, bbox: Rect<f64>, scope: &Scope) -> Vec<&Household>;
    /// Imported grids in `scope` whose box meets `bbox` (all when `None`),
    /// in id order.
    fn grids_in(&self, bbox: Option<Rect<f64>>, scope: &Scope) -> Vec<&ImportedGrid>;
}

impl<T: Layers + ?Sized> Layers for std::sync::Arc<T> {
    fn index(&self) -> &EmergencyIndex {
        (**self).index()
    }
    fn people(&self) -> &[Person] {
        (**self).people()
    }
    fn households_in(&self, bbox: Rect<f64>, scope: &Scope) -> Vec<&Household> {
        (**self).households_in(bbox, scope)
    }
    fn grids_in(&self, bbox: Option<Rect<f64>>, scope: &Scope) -> Vec<&ImportedGrid> {
        (**self).grids_in(bbox, scope)
    }
}

/// Volunteers and the road network, indexed once per snapshot.
#[derive(Debug)]
pub struct EmergencyIndex {
    proj: LocalProjection,
    /// Every person, by position in the snapshot's people layer.
    people: RTree<Entry>,
    /// Only those available and in the reserve: what almost every query
    /// asks for, so the nearest search visits few that fail the filter.
    ready: RTree<Entry>,
    skill_bits: HashMap<String, u32>,
    /// Each person's skills as bits, `words` 64-bit words a person (as
    /// many as the distinct skills need: any number of skills works).
    masks: Vec<u64>,
    words: usize,
    /// Shared between snapshots: a volunteer write indexes the people
    /// again, never the roads.
    walking: Option<std::sync::Arc<Walking>>,
    snaps: Vec<Option<Snap>>,
}

/// Which volunteers qualify.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Required skills, all of them.
    pub skills: Vec<String>,
    pub team: Option<String>,
    /// `Some(true)`: the emergency reserve only (the default).
    pub reserve: Option<bool>,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            skills: Vec::new(),
            team: None,
            reserve: Some(true),
        }
    }
}

/// One volunteer found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    /// Position in the snapshot's people layer.
    pub person: usize,
    pub straight_m: f64,
    /// Along the road network, when roads are loaded and it is reachable.
    pub walk_m: Option<f64>,
}

/// A hazard area.
#[derive(Debug, Clone)]
pub enum Area {
    /// Lon/lat polygons.
    Polygon(MultiPolygon<f64>),
    Circle {
        center: Coord<f64>,
        radius_m: f64,
    },
}

impl EmergencyIndex {
    pub fn build(people: &[Person], roads: &[Road], extent: Option<Rect<f64>>) -> Self {
        let center = extent.map_or(Coord { x: 0.0, y: 0.0 }, |r| r.center());
        let proj = LocalProjection::new(center);
        let walking = Walking::build(roads, proj).map(std::sync::Arc::new);
        Self::over(proj, walking, people)
    }

    /// This index over `people` instead (after a person or volunteer
    /// write): the projection and the walking network are kept, only the
    /// people's trees, skills and snaps are made again, so a volunteer set
    /// off duty or dispatched leaves the available tree at once and one
    /// who checked in elsewhere is found there.
    #[must_use]
    pub fn with_people(&self, people: &[Person]) -> Self {
        Self::over(self.proj, self.walking.clone(), people)
    }

    fn over(
        proj: LocalProjection,
        walking: Option<std::sync::Arc<Walking>>,
        people: &[Person],
    ) -> Self {
        let mut skill_bits: HashMap<String, u32> = HashMap::new();
        for s in people.iter().flat_map(|p| &p.skills) {
            let n = skill_bits.len() as u32;
            skill_bits.entry(s.clone()).or_insert(n);
        }
        let words = skill_bits.len().div_ceil(64).max(1);
        let mut masks = vec![0u64; people.len() * words];
        for (i, p) in people.iter().enumerate() {
            for s in &p.skills {
                let bit = skill_bits[s] as usize;
                masks[i * words + bit / 64] |= 1 << (bit % 64);
            }
        }
        let entries: Vec<Entry> = people
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let c = proj.forward(p.position().0);
                Entry::new([c.x, c.y], i as u32)
            })
            .collect();
        let ready = entries
            .iter()
            .filter(|e| people[e.data as usize].available() && people[e.data as usize].reserve)
            .cloned()
            .collect();
        let snaps = people
            .iter()
            .map(|p| walking.as_ref().and_then(|w| w.snap_point(p.position().0)))
            .collect();
        Self {
            proj,
            people: RTree::bulk_load(entries),
            ready: RTree::bulk_load(ready),
            skill_bits,
            masks,
            words,
            walking,
            snaps,
        }
    }

    /// The walking network, when roads are loaded.
    pub fn walking(&self) -> Option<&Walking> {
        self.walking.as_deref()
    }

    /// The walking network, shared: for an analysis that outlives this
    /// index (a coverage analysis kept across writes).
    pub fn walking_shared(&self) -> Option<std::sync::Arc<Walking>> {
        self.walking.clone()
    }

    pub fn has_network(&self) -> bool {
        self.walking.is_some()
    }

    fn network(&self) -> Option<&Network> {
        self.walking.as_ref().map(|w| &w.network)
    }

    /// The skills mask a filter requires (`words` words); `None` when a
    /// skill nobody has is asked for (then nobody qualifies).
    fn required(&self, f: &Filter) -> Option<Vec<u64>> {
        let mut need = vec![0u64; self.words];
        for s in &f.skills {
            let bit = *self.skill_bits.get(s)? as usize;
            need[bit / 64] |= 1 << (bit % 64);
        }
        Some(need)
    }

    fn qualifies(&self, p: &Person, i: usize, need: &[u64], f: &Filter, scope: &Scope) -> bool {
        let has = &self.masks[i * self.words..(i + 1) * self.words];
        p.available()
            && f.reserve.is_none_or(|r| p.reserve == r)
            && has.iter().zip(need).all(|(h, n)| h & n == *n)
            && f.team.as_ref().is_none_or(|t| p.team.as_ref() == Some(t))
            && scope.contains_opt(p.region)
    }

    /// The `k` nearest qualifying volunteers to `at` (lon/lat) within
    /// `radius_m`, by straight line, or by walking when `walk` and roads
    /// are loaded (then straight-line order bounds the search: a walk is
    /// never shorter than the straight line).
    ///
    /// # Examples
    ///
    /// Two reserve volunteers east of a point, about 940 m and 94 m away:
    ///
    /// ```
    /// use geo_types::{coord, point, Rect};
    /// use wangge::access::Scope;
    /// use wangge::domain::{Person, Role};
    /// use wangge::emergency::{EmergencyIndex, Filter};
    ///
    /// let volunteer = |id, lon: f64| Person {
    ///     id,
    ///     name: String::new(),
    ///     phone: String::new(),
    ///     roles: vec![Role::Volunteer],
    ///     team: None,
    ///     skills: Vec::new(),
    ///     status: wangge::domain::Availability::OnDuty,
    ///     checkin: None,
    ///     reserve: true,
    ///     home: point!(x: lon, y: 32.0),
    ///     grids: Vec::new(),
    ///     region: None,
    /// };
    /// let people = vec![volunteer(7, 108.01), volunteer(8, 108.001)];
    /// let extent = Rect::new(coord! { x: 108.0, y: 31.99 }, coord! { x: 108.02, y: 32.01 });
    /// let index = EmergencyIndex::build(&people, &[], Some(extent));
    /// let at = coord! { x: 108.0, y: 32.0 };
    /// let found = index.nearest(&people, at, 1, None, &Filter::default(), false, &Scope::all());
    /// assert_eq!(found.len(), 1);
    /// assert_eq!(people[found[0].person].id, 8);
    /// assert!((90.0..100.0).contains(&found[0].straight_m));
    /// assert_eq!(found[0].walk_m, None); // no roads loaded
    /// ```
    pub fn nearest(
        &self,
        people: &[Person],
        at: Coord<f64>,
        k: usize,
        radius_m: Option<f64>,
        f: &Filter,
        walk: bool,
        scope: &Scope,
    ) -> Vec<Found> {
        let Some(need) = self.required(f) else {
            return Vec::new();
        };
        let q = self.proj.forward(at);
        let limit = radius_m.unwrap_or(f64::INFINITY);
        let tree = if f.reserve == Some(true) {
            &self.ready
        } else {
            &self.people
        };
        let candidates = tree
            .nearest_neighbor_iter_with_distance_2(&[q.x, q.y])
            .map(|(e, d2)| (e.data as usize, d2.sqrt()))
            .take_while(|(_, d)| *d <= limit)
            .filter(|(i, _)| self.qualifies(&people[*i], *i, &need, f, scope));
        let walk_net = self
            .network()
            .filter(|_| walk)
            .and_then(|n| n.snap(q).map(|s| (n, s)));
        let Some((net, from)) = walk_net else {
            return candidates
                .take(k)
                .map(|(i, d)| Found {
                    person: i,
                    straight_m: d,
                    walk_m: None,
                })
                .collect();
        };
        let dist = net.distances(&from, limit.min(200_000.0));
        let mut best: Vec<Found> = Vec::new();
        for (i, straight) in candidates {
            let kth = if best.len() >= k {
                best[k - 1].walk_m.unwrap_or(f64::INFINITY)
            } else {
                f64::INFINITY
            };
            if straight >= kth {
                break;
            }
            let walk_m = self.snaps[i]
                .map(|to| Network::distance_to(&from, &dist, &to))
                .filter(|w| w.is_finite() && *w <= limit);
            if let Some(w) = walk_m {
                best.push(Found {
                    person: i,
                    straight_m: straight,
                    walk_m: Some(w),
                });
                best.sort_by(|a, b| a.walk_m.unwrap().total_cmp(&b.walk_m.unwrap()));
                best.truncate(k);
            }
        }
        best
    }

    /// Metres from a lon/lat point to the area (0 inside).
    pub fn distance_to_area(&self, area: &Area, p: Coord<f64>) -> f64 {
        match area {
            Area::Circle { center, radius_m } => {
                let (a, b) = (self.proj.forward(*center), self.proj.forward(p));
                ((a.x - b.x).hypot(a.y - b.y) - radius_m).max(0.0)
            }
            Area::Polygon(mp) => {
                if mp.intersects(&Point(p)) {
                    0.0
                } else {
                    Euclidean.distance(&Point(self.proj.forward(p)), &self.proj.project(mp))
                }
            }
        }
    }

    /// The area's lon/lat bounding box grown by `margin_m`.
    pub fn area_bbox(&self, area: &Area, margin_m: f64) -> Option<Rect<f64>> {
        let (min, max) = match area {
            Area::Circle { center, radius_m } => {
                let c = self.proj.forward(*center);
                let r = radius_m + margin_m;
                (
                    Coord {
                        x: c.x - r,
                        y: c.y - r,
                    },
                    Coord {
                        x: c.x + r,
                        y: c.y + r,
                    },
                )
            }
            Area::Polygon(mp) => {
                let b = self.proj.project(mp).bounding_rect()?;
                (
                    Coord {
                        x: b.min().x - margin_m,
                        y: b.min().y - margin_m,
                    },
                    Coord {
                        x: b.max().x + margin_m,
                        y: b.max().y + margin_m,
                    },
                )
            }
        };
        Some(Rect::new(self.proj.inverse(min), self.proj.inverse(max)))
    }

    /// Qualifying volunteers inside the area or within `margin_m` of it.
    pub fn volunteers_near(
        &self,
        people: &[Person],
        area: &Area,
        margin_m: f64,
        f: &Filter,
        scope: &Scope,
    ) -> Vec<Found> {
        let Some(need) = self.required(f) else {
            return Vec::new();
        };
        let Some(bb) = self.area_bbox(area, margin_m) else {
            return Vec::new();
        };
        let (a, b) = (self.proj.forward(bb.min()), self.proj.forward(bb.max()));
        let mut out: Vec<Found> = self
            .people
            .locate_in_envelope(&AABB::from_corners([a.x, a.y], [b.x, b.y]))
            .map(|e| e.data as usize)
            .filter(|&i| self.qualifies(&people[i], i, &need, f, scope))
            .filter_map(|i| {
                let d = self.distance_to_area(area, people[i].position().0);
                (d <= margin_m).then_some(Found {
                    person: i,
                    straight_m: d,
                    walk_m: None,
                })
            })
            .collect();
        out.sort_by(|x, y| {
            x.straight_m
                .total_cmp(&y.straight_m)
                .then(x.person.cmp(&y.person))
        });
        out
    }

    /// Travel in metres from each volunteer to each household (walking
    /// when possible, else straight), within `limit_m`; one walk search per
    /// household, each preceded by a look at `cancel`.
    pub fn travel(
        &self,
        people: &[Person],
        vols: &[usize],
        hh: &[&Household],
        limit_m: f64,
        walk: bool,
        cancel: &crate::cancel::Cancel,
    ) -> Result<Vec<Vec<(usize, f64)>>, crate::cancel::Cancelled> {
        let net = self.network().filter(|_| walk);
        // Projected once, not once per household: 2,000 households ×
        // 5,000 volunteers spent most of the table's time in sin and cos.
        let at: Vec<Coord<f64>> = vols
            .iter()
            .map(|&v| self.proj.forward(people[v].position().0))
            .collect();
        hh.iter()
            .map(|h| {
                cancel.check()?;
                let q = self.proj.forward(h.location.0);
                let from = net.and_then(|n| n.snap(q).map(|s| (n, s)));
                let dist = from.as_ref().map(|(n, s)| n.distances(s, limit_m));
                Ok(vols
                    .iter()
                    .zip(&at)
                    .enumerate()
                    .filter_map(|(j, (&v, p))| {
                        let straight = (p.x - q.x).hypot(p.y - q.y);
                        if straight > limit_m {
                            return None;
                        }
                        let m = match (&from, &dist, self.snaps[v]) {
                            (Some((_, s)), Some(d), Some(to)) => Network::distance_to(s, d, &to),
                            _ => straight,
                        };
                        (m <= limit_m).then_some((j, m))
                    })
                    .collect())
            })
            .collect()
    }
}

/// True when a lon/lat point is in the area (edges included).
pub fn area_contains(index: &EmergencyIndex, area: &Area, p: Coord<f64>) -> bool {
    match area {
        Area::Polygon(mp) => mp.contains(&Point(p)) || mp.intersects(&Point(p)),
        Area::Circle { .. } => index.distance_to_area(area, p) <= 0.0,
    }
}

/// The finest imported grid holding a point.
pub fn grid_of<'a>(
    grids: &'a [ImportedGrid],
    candidates: impl Iterator<Item = &'a ImportedGrid>,
    p: Point<f64>,
) -> Option<&'a ImportedGrid> {
    let _ = grids;
    candidates
        .filter(|g| g.geometry.intersects(&p))
        .max_by_key(|g| (g.level.get(), std::cmp::Reverse(g.code.0.clone())))
}

/// Households of an area by care level and by grid.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Tally {
    pub by_care: BTreeMap<u8, u64>,
    pub by_grid: BTreeMap<String, BTreeMap<u8, u64>>,
}

#[cfg(test)]
mod tests {
    use geo_types::{coord, point};

    use super::{EmergencyIndex, Filter};
    use crate::access::Scope;
    use crate::domain::{Person, Role};

    fn volunteer(id: i64, lon: f64, skills: &[String]) -> Person {
        Person {
            id,
            name: String::new(),
            phone: String::new(),
            roles: vec![Role::Volunteer],
            team: None,
            skills: skills.to_vec(),
            status: crate::domain::Availability::OnDuty,
            checkin: None,
            reserve: true,
            home: point!(x: lon, y: 32.0),
            grids: Vec::new(),
            region: None,
        }
    }

    #[test]
    fn the_skill_filter_works_past_64_distinct_skills() {
        // 130 distinct skills: three 64-bit words a person.
        let skill = |i: usize| format!("技能{i}");
        let all: Vec<String> = (0..130).map(skill).collect();
        let people = vec![
            volunteer(1, 108.001, &all[..64]),
            volunteer(2, 108.002, &all[64..]),
            volunteer(3, 108.003, &[skill(0), skill(65), skill(129)]),
        ];
        let index = EmergencyIndex::build(&people, &[], None);
        let find = |wanted: &[usize]| -> Vec<i64> {
            let f = Filter {
                skills: wanted.iter().map(|&i| skill(i)).collect(),
                ..Filter::default()
            };
            let at = coord! { x: 108.0, y: 32.0 };
            let mut ids: Vec<i64> = index
                .nearest(&people, at, 10, None, &f, false, &Scope::all())
                .iter()
                .map(|x| people[x.person].id)
                .collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(find(&[64]), vec![2], "the 65th skill matches its holder");
        assert_eq!(find(&[129]), vec![2, 3]);
        assert_eq!(find(&[0, 65, 129]), vec![3], "all of them, across words");
        assert_eq!(find(&[0, 64]), Vec::<i64>::new());
        assert_eq!(find(&[]), vec![1, 2, 3]);
        // A skill nobody has matches nobody.
        let f = Filter {
            skills: vec!["潜水".into()],
            ..Filter::default()
        };
        let at = coord! { x: 108.0, y: 32.0 };
        assert!(index
            .nearest(&people, at, 10, None, &f, false, &Scope::all())
            .is_empty());
    }
}
