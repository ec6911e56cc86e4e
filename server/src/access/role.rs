//! Roles: what a user's job lets them do.

use serde::{Deserialize, Serialize};

/// A user's role. Each role sees a documented projection of personal fields
/// ([`super::projection`]) and may use a documented set of operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users and the audit log.
    Admin,
    /// Edits plans (网格办).
    Planner,
    /// Coverage, staff and household records (街道办).
    Office,
    /// Nearest volunteers, hazard areas, dispatch with phone numbers (应急).
    Emergency,
    /// Aggregates and the map only.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Self::Admin,
        Self::Planner,
        Self::Office,
        Self::Emergency,
        Self::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Planner => "planner",
            Self::Office => "office",
            Self::Emergency => "emergency",
            Self::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
