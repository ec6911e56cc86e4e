//! What differs between two versions of a plan over the same atoms.

use super::labels::{code, members_by_code};
use crate::domain::{GridCode, Plan};

/// What differs between two plans over the same atoms, by grid code.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Diff {
    /// Per level: grids only in the newer plan, only in the older one,
    /// and in both with other atoms.
    pub levels: Vec<LevelDiff>,
    /// Atoms whose level-3 grid changed (plan indices), with both codes.
    pub moved: Vec<Moved>,
}

impl Diff {
    /// Households in the atoms that changed grid; `households[i]` is atom
    /// `i`'s count (an evaluated plan's ledger).
    pub fn households_moved(&self, households: &[u32]) -> u64 {
        self.moved
            .iter()
            .map(|m| u64::from(households.get(m.atom).copied().unwrap_or(0)))
            .sum()
    }

    /// The staff to reassign when the newer plan is put in force: for
    /// each grid it retires or changes (any level) that has people
    /// assigned, their number by role (counts only, no names: every reader
    /// of a diff may see it).
    pub fn staff(&self, people: &[crate::domain::Person]) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        for l in &self.levels {
            let grids = l.retired.iter().map(|c| (c, "retired"));
            for (code, change) in grids.chain(l.changed.iter().map(|c| (c, "changed"))) {
                let mut roles: std::collections::BTreeMap<&'static str, u32> =
                    std::collections::BTreeMap::new();
                let mut people_n = 0u32;
                for p in people.iter().filter(|p| p.grids.contains(code)) {
                    people_n += 1;
                    for r in &p.roles {
                        *roles.entry(r.as_str()).or_default() += 1;
                    }
                }
                if people_n > 0 {
                    out.push(serde_json::json!({
                        "level": l.level, "code": code, "change": change,
                        "people": people_n, "roles": roles,
                    }));
                }
            }
        }
        out
    }

    /// The atoms that changed grid as GeoJSON features (atom id, from, to,
    /// households), from an evaluated plan over the same atoms.
    pub fn features(
        &self,
        plan: &crate::partition::plan::RegionPlan,
        ids: &[crate::domain::AtomId],
    ) -> serde_json::Value {
        let households = plan.ledger.households();
        let features: Vec<serde_json::Value> = self
            .moved
            .iter()
            .filter_map(|m| {
                let atom = plan.atoms.get(m.atom)?;
                let id = ids.get(m.atom)?;
                Some(serde_json::json!({
                    "type": "Feature",
                    "id": id,
                    "geometry": geojson::Geometry::from(&atom.geometry),
                    "properties": {
                        "atom": id, "from": m.from, "to": m.to,
                        "households": households.get(m.atom),
                    },
                }))
            })
            .collect();
        serde_json::json!({ "type": "FeatureCollection", "features": features })
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LevelDiff {
    pub level: u8,
    pub added: Vec<GridCode>,
    pub retired: Vec<GridCode>,
    pub changed: Vec<GridCode>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Moved {
    pub atom: usize,
    pub from: GridCode,
    pub to: GridCode,
}

/// How `b` differs from `a`; `None` when they label different atoms (a
/// plan generated afresh cut its region again).
pub fn diff(a: &Plan, b: &Plan) -> Option<Diff> {
    if a.atoms != b.atoms || a.labels.len() != b.labels.len() {
        return None;
    }
    let mut d = Diff::default();
    for l in 0..3 {
        let mut ld = LevelDiff {
            level: l as u8 + 1,
            ..LevelDiff::default()
        };
        for c in &b.codes[l] {
            if !a.codes[l].contains(c) {
                ld.added.push(c.clone());
            } else if members_by_code(a, l, c) != members_by_code(b, l, c) {
                ld.changed.push(c.clone());
            }
        }
        for c in &a.codes[l] {
            if !b.codes[l].contains(c) {
                ld.retired.push(c.clone());
            }
        }
        d.levels.push(ld);
    }
    for i in 0..a.labels.len() {
        let from = code(a, 3, a.labels[i].0[2]);
        let to = code(b, 3, b.labels[i].0[2]);
        if from != to {
            d.moved.push(Moved { atom: i, from, to });
        }
    }
    Some(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Person, Role};

    fn person(id: i64, roles: Vec<Role>, grids: &[&str]) -> Person {
        Person {
            id,
            name: format!("人{id}"),
            phone: String::new(),
            roles,
            team: None,
            skills: Vec::new(),
            status: crate::domain::Availability::OnDuty,
            checkin: None,
            reserve: false,
            home: geo_types::Point::new(109.0, 32.7),
            grids: grids.iter().map(|g| GridCode((*g).into())).collect(),
            region: None,
        }
    }

    #[test]
    fn staff_to_reassign_are_those_of_retired_and_changed_grids_counted_by_role() {
        let code = |c: &str| GridCode(c.into());
        let d = Diff {
            levels: vec![LevelDiff {
                level: 3,
                added: vec![code("new")],
                retired: vec![code("gone")],
                changed: vec![code("moved"), code("empty")],
            }],
            moved: Vec::new(),
        };
        let people = [
            person(1, vec![Role::GridLeader, Role::FullTimeWorker], &["gone"]),
            person(2, vec![Role::PartTimeWorker], &["moved", "kept"]),
            person(3, vec![Role::FullTimeWorker], &["kept"]),
            person(4, vec![Role::Volunteer], &["new"]),
        ];
        let s = d.staff(&people);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0]["code"], "gone");
        assert_eq!(s[0]["change"], "retired");
        assert_eq!(s[0]["people"], 1);
        assert_eq!(s[0]["roles"]["grid_leader"], 1);
        assert_eq!(s[0]["roles"]["full_time_worker"], 1);
        assert_eq!(s[1]["code"], "moved");
        assert_eq!(s[1]["change"], "changed");
        assert_eq!(s[1]["roles"]["part_time_worker"], 1);
    }
}
