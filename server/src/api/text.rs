//! Caps on free text in request bodies. Whatever a client sends is stored,
//! listed with every later answer or written into the audit log, so each
//! text field has a documented length, refused beyond it with a 422 that
//! names the field and the cap.

use serde_json::json;

use super::ApiError;

/// Plan version messages (edits, publishing, generation, from-grids).
pub const MESSAGE: usize = 2000;
/// Titles, team names, labels and user names.
pub const NAME: usize = 200;
/// Grid codes, skills and other short keys.
pub const CODE: usize = 64;
/// Passwords (hashing a huge one costs CPU for nothing).
pub const PASSWORD: usize = 1024;
/// Items in one list of codes or skills.
pub const LIST: usize = 1000;

/// 422 when `value` (the field `field`) is longer than `max` characters.
pub fn capped(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n <= max {
        return Ok(());
    }
    Err(ApiError::Refused {
        detail: format!("{field} is {n} characters long; at most {max} are accepted"),
        extra: json!({ "field": field, "limit": max }),
    })
}

/// [`capped`] for an optional field.
pub fn capped_opt(field: &str, value: Option<&str>, max: usize) -> Result<(), ApiError> {
    value.map_or(Ok(()), |v| capped(field, v, max))
}

/// [`capped`] for every item of a list, and at most [`LIST`] items.
pub fn capped_list(field: &str, values: &[String], max: usize) -> Result<(), ApiError> {
    if values.len() > LIST {
        return Err(ApiError::Refused {
            detail: format!(
                "{field} has {} items; at most {LIST} are accepted",
                values.len()
            ),
            extra: json!({ "field": field, "limit": LIST }),
        });
    }
    values.iter().try_for_each(|v| capped(field, v, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_count_characters_and_name_the_field() {
        assert!(capped("message", &"网".repeat(MESSAGE), MESSAGE).is_ok());
        let Err(ApiError::Refused { detail, extra }) =
            capped("message", &"网".repeat(MESSAGE + 1), MESSAGE)
        else {
            panic!("refused")
        };
        assert!(
            detail.contains("message") && detail.contains("2000"),
            "{detail}"
        );
        assert_eq!(extra["limit"], MESSAGE);
        assert!(capped_list("locks", &vec!["a".into(); LIST + 1], CODE).is_err());
    }
}
