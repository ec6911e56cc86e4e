//! The generated community the plan and edit tests work on.

use super::{grounds, Ground, Settings};
use crate::generate::{generate, Generated, Params};

/// A city of 6,000 households (seed 3).
pub fn city() -> Generated {
    generate(
        Params {
            households: 6_000,
            seed: 3,
        },
        &mut |_| {},
    )
}

/// Its community with the most households, and the ankang policy's
/// settings.
pub fn community(city: &Generated) -> (Ground<'_>, Settings) {
    let all = grounds(
        &city.regions,
        &city.roads,
        &city.water,
        &city.households,
        None,
    );
    let ground = all
        .into_iter()
        .max_by_key(|x| x.households.len())
        .expect("a community");
    let policy = crate::domain::Policy::preset("ankang").expect("the ankang preset");
    (ground, Settings::from_policy(&policy))
}
