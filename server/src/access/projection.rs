//! Personal fields and what each role sees of them.
//!
//! | what                          | admin | office | emergency | planner | viewer |
//! |-------------------------------|-------|--------|-----------|---------|--------|
//! | households and people one by one (points, ids) | yes | yes | yes | yes | no: counts only |
//! | household care level, size    | full  | full   | full      | full    | counts only |
//! | household head's name         | full  | full   | full      | masked  | hidden |
//! | household phone               | full  | full   | full      | hidden  | hidden |
//! | household exact address       | full  | full   | full      | masked  | hidden |
//! | household sensitive flags     | full  | full   | full      | hidden  | hidden |
//! | person's name                 | full  | full   | full      | full    | hidden |
//! | person's phone                | full  | full   | full      | masked  | hidden |
//!
//! Masked values let a person recognise a record without being able to call
//! or visit: `138****5678`, `张*`, the address up to its road. A hidden
//! field is absent from every answer (not an empty string, which would read
//! as "none").
//!
//! Roles that see counts only ([`Detail::Counts`]: `viewer`, and anonymous
//! callers of a public map, who get the `viewer` role) never see a
//! household or a person: no point, no id, no care level of one household.
//! The household and people layers and collections answer them 403
//! (`counts_only`); tiles give them households counted per cell, and a
//! cell holding fewer than k households (the policy's
//! `privacy.min_cell_households`, default 5) is merged into a coarser cell
//! or, when even the coarsest holds fewer, not shown ([`crate::tiles::cells`]).
//! Counts per grid and per region stay.

use crate::domain::{Household, Person, SensitiveFlags};

use super::Role;

/// How much of a field a role sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Full,
    Masked,
    Hidden,
}

/// Personal fields, classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalField {
    HouseholdName,
    HouseholdPhone,
    HouseholdAddress,
    HouseholdFlags,
    PersonName,
    PersonPhone,
}

/// Whether a role sees households and people one by one, or only counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Detail {
    /// Points, ids and attributes (personal fields per [`visibility`]).
    Individuals,
    /// Counts per region, grid or cell of at least k households.
    Counts,
}

/// The first row of the table above.
pub fn detail(role: Role) -> Detail {
    match role {
        Role::Admin | Role::Office | Role::Emergency | Role::Planner => Detail::Individuals,
        Role::Viewer => Detail::Counts,
    }
}

/// True when `role` may see the features of `layer` one by one: every
/// layer but households and people, and those only for roles that see
/// individuals.
pub fn may_list(role: Role, layer: crate::domain::Layer) -> bool {
    use crate::domain::Layer;
    detail(role) == Detail::Individuals || !matches!(layer, Layer::Households | Layer::People)
}

/// True when `role` sees `field` at all (in full or masked): a field it
/// does not see is left out of the answer.
pub fn shows(role: Role, field: PersonalField) -> bool {
    visibility(role, field) != Visibility::Hidden
}

/// The table above, as code.
pub fn visibility(role: Role, field: PersonalField) -> Visibility {
    use PersonalField as F;
    use Visibility::{Full, Hidden, Masked};
    match role {
        Role::Admin | Role::Office | Role::Emergency => Full,
        Role::Planner => match field {
            F::HouseholdName | F::HouseholdAddress | F::PersonPhone => Masked,
            F::HouseholdPhone | F::HouseholdFlags => Hidden,
            F::PersonName => Full,
        },
        Role::Viewer => Hidden,
    }
}

/// `13812345678` → `138****5678`; short numbers keep only their last digit.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    match chars.len() {
        0 => String::new(),
        n if n >= 7 => {
            let head: String = chars[..3].iter().collect();
            let tail: String = chars[n - 4..].iter().collect();
            format!("{head}****{tail}")
        }
        n => format!("{}{}", "*".repeat(n - 1), chars[n - 1]),
    }
}

/// `张三丰` → `张**`: the family name only.
pub fn mask_name(name: &str) -> String {
    let mut it = name.chars();
    match it.next() {
        None => String::new(),
        Some(first) => format!("{first}{}", "*".repeat(it.count())),
    }
}

/// An address cut before its first digit (house number, building, flat):
/// `汉滨区兴安路12号3栋` → `汉滨区兴安路…`.
pub fn mask_address(address: &str) -> String {
    match address.char_indices().find(|(_, c)| c.is_ascii_digit()) {
        Some((i, _)) => format!("{}…", &address[..i]),
        None => address.to_string(),
    }
}

fn apply(v: Visibility, value: &str, mask: fn(&str) -> String) -> String {
    match v {
        Visibility::Full => value.to_string(),
        Visibility::Masked => mask(value),
        Visibility::Hidden => String::new(),
    }
}

/// The household as `role` may see it.
pub fn project_household(h: &Household, role: Role) -> Household {
    let mut out = h.clone();
    out.head_name = apply(
        visibility(role, PersonalField::HouseholdName),
        &h.head_name,
        mask_name,
    );
    out.phone = apply(
        visibility(role, PersonalField::HouseholdPhone),
        &h.phone,
        mask_phone,
    );
    out.address = apply(
        visibility(role, PersonalField::HouseholdAddress),
        &h.address,
        mask_address,
    );
    if visibility(role, PersonalField::HouseholdFlags) != Visibility::Full {
        out.flags = SensitiveFlags::default();
    }
    out
}

/// The person as `role` may see them.
pub fn project_person(p: &Person, role: Role) -> Person {
    let mut out = p.clone();
    out.name = apply(
        visibility(role, PersonalField::PersonName),
        &p.name,
        mask_name,
    );
    out.phone = apply(
        visibility(role, PersonalField::PersonPhone),
        &p.phone,
        mask_phone,
    );
    out
}

/// True when `role` sees any personal field in full: such reads are audited.
pub fn reveals_personal(role: Role) -> bool {
    matches!(role, Role::Admin | Role::Office | Role::Emergency)
}

#[cfg(test)]
mod test {
    use super::*;
    use crate::domain::CareLevel;
    use geo_types::point;

    fn household() -> Household {
        Household {
            id: 1,
            location: point!(x: 109.0, y: 32.6),
            size: 2,
            care: CareLevel::CONNECTED,
            flags: SensitiveFlags(SensitiveFlags::ELDERLY_ALONE),
            building: Some(7),
            address: "汉滨区兴安路12号3栋501".into(),
            head_name: "张三丰".into(),
            phone: "13812345678".into(),
            region: None,
            estimated: false,
        }
    }

    #[test]
    fn masks_keep_enough_to_recognise() {
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("110"), "**0");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_address("汉滨区兴安路12号3栋501"), "汉滨区兴安路…");
    }

    #[test]
    fn each_role_sees_its_projection() {
        let h = household();
        assert_eq!(project_household(&h, Role::Office), h);
        let p = project_household(&h, Role::Planner);
        assert_eq!(
            (p.head_name.as_str(), p.phone.as_str(), p.address.as_str()),
            ("张**", "", "汉滨区兴安路…")
        );
        assert!(p.flags.is_empty());
        assert!(!shows(Role::Planner, PersonalField::HouseholdPhone));
        assert!(shows(Role::Planner, PersonalField::HouseholdAddress));
        let v = project_household(&h, Role::Viewer);
        assert!(
            v.head_name.is_empty()
                && v.phone.is_empty()
                && v.address.is_empty()
                && v.flags.is_empty()
        );
    }

    #[test]
    fn viewers_see_counts_and_no_household_or_person() {
        use crate::domain::Layer;
        assert_eq!(detail(Role::Viewer), Detail::Counts);
        for r in [Role::Admin, Role::Office, Role::Emergency, Role::Planner] {
            assert_eq!(detail(r), Detail::Individuals, "{r}");
            assert!(may_list(r, Layer::Households), "{r}");
        }
        for l in Layer::ALL {
            let personal = matches!(l, Layer::Households | Layer::People);
            assert_eq!(may_list(Role::Viewer, l), !personal, "{l:?}");
        }
        for f in [
            PersonalField::HouseholdName,
            PersonalField::HouseholdPhone,
            PersonalField::HouseholdAddress,
            PersonalField::HouseholdFlags,
            PersonalField::PersonName,
            PersonalField::PersonPhone,
        ] {
            assert!(!shows(Role::Viewer, f), "{f:?}");
            assert!(shows(Role::Office, f), "{f:?}");
        }
    }
}

/// Any record as `role` may see it (only households and people carry
/// personal fields).
pub fn project_record(r: crate::domain::Record, role: Role) -> crate::domain::Record {
    use crate::domain::Record;
    match r {
        Record::Household(h) => Record::Household(project_household(&h, role)),
        Record::Person(p) => Record::Person(project_person(&p, role)),
        other => other,
    }
}
