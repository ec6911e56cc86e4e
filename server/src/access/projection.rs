//! Personal fields and what each role sees of them.
//!
//! | field                         | admin | office | emergency | planner | viewer |
//! |-------------------------------|-------|--------|-----------|---------|--------|
//! | household head's name         | full  | full   | full      | masked  | hidden |
//! | household phone               | full  | full   | full      | hidden  | hidden |
//! | household exact address       | full  | full   | full      | masked  | hidden |
//! | household sensitive flags     | full  | full   | full      | hidden  | hidden |
//! | person's name                 | full  | full   | full      | full    | hidden |
//! | person's phone                | full  | full   | full      | masked  | hidden |
//!
//! Masked values let a person recognise a record without being able to call
//! or visit: `138****5678`, `张*`, the address up to its road. Care levels
//! and household sizes are not personal on their own and stay visible, so
//! figures add up for every role. Anonymous callers and vector tiles see the
//! `viewer` projection.

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
        let v = project_household(&h, Role::Viewer);
        assert!(
            v.head_name.is_empty()
                && v.phone.is_empty()
                && v.address.is_empty()
                && v.flags.is_empty()
        );
        assert_eq!((v.care, v.size), (h.care, h.size), "figures stay visible");
    }
}

/// Any record as `role` may see it (only households and people carry
/// personal fields).
pub fn project_record(r: crate::store::Record, role: Role) -> crate::store::Record {
    use crate::store::Record;
    match r {
        Record::Household(h) => Record::Household(project_household(&h, role)),
        Record::Person(p) => Record::Person(project_person(&p, role)),
        other => other,
    }
}
