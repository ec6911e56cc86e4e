//! Who may see what. Every read of the snapshot takes a [`Scope`], so no
//! handler, tile or export can forget it. Accounts, roles and personal-field
//! projection build on this (issue 4).

pub mod account;
pub mod audit;
pub mod projection;
pub mod ratelimit;
pub mod role;
pub mod secret;

pub use role::Role;

use crate::domain::RegionCode;

/// A caller's region scope: a set of region-code prefixes (a city `6109`, a
/// street `610902001`, a community `610902001001`), or everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    /// `None` = every region (admin, or the local command line).
    prefixes: Option<Vec<String>>,
}

impl Scope {
    /// Everything: for the command line run by the store's owner.
    pub fn all() -> Self {
        Self { prefixes: None }
    }

    /// Only regions whose 12-digit code starts with one of `prefixes`.
    /// Prefixes are digit strings; an empty list sees nothing.
    pub fn prefixes<I: IntoIterator<Item = S>, S: Into<String>>(prefixes: I) -> Self {
        Self {
            prefixes: Some(prefixes.into_iter().map(Into::into).collect()),
        }
    }

    /// The prefixes (empty for everything).
    pub fn prefix_list(&self) -> Vec<String> {
        self.prefixes.clone().unwrap_or_default()
    }

    pub fn is_all(&self) -> bool {
        self.prefixes.is_none()
    }

    /// True when the region `code` lies inside the scope.
    pub fn contains(&self, code: RegionCode) -> bool {
        match &self.prefixes {
            None => true,
            Some(p) => {
                let s = code.to_string();
                p.iter().any(|pre| s.starts_with(pre.as_str()))
            }
        }
    }

    /// For records that may have no region: those are visible to an
    /// unrestricted scope only, since nobody can vouch that they are in scope.
    pub fn contains_opt(&self, code: Option<RegionCode>) -> bool {
        code.map_or(self.is_all(), |c| self.contains(c))
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn prefixes_match_the_code_and_nothing_else() {
        let street: RegionCode = "610902001".parse().unwrap();
        let other: RegionCode = "610902002".parse().unwrap();
        let s = Scope::prefixes(["610902001"]);
        assert!(s.contains(street));
        assert!(!s.contains(other));
        assert!(!s.contains_opt(None));
        assert!(Scope::all().contains_opt(None));
        assert!(!Scope::prefixes(Vec::<String>::new()).contains(street));
    }
}

/// Who is asking: every read of the core takes one, so scope and the
/// role's projection of personal fields cannot be forgotten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// User name (`cli` for the local command line, `-` for anonymous).
    pub name: String,
    pub role: Role,
    pub scope: Scope,
}

impl Caller {
    /// The store's owner on the local command line: everything, in full.
    pub fn cli() -> Self {
        Self {
            name: "cli".into(),
            role: Role::Admin,
            scope: Scope::all(),
        }
    }

    /// A user's caller: prefix `""` (or `*`) means everything.
    pub fn of_user(name: &str, role: Role, prefixes: &[String]) -> Self {
        let scope = if prefixes.iter().any(|p| p.is_empty() || p == "*") {
            Scope::all()
        } else {
            Scope::prefixes(prefixes.iter().cloned())
        };
        Self {
            name: name.to_string(),
            role,
            scope,
        }
    }
}
