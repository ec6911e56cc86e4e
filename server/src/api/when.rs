//! Times in query strings (`since` of the audit log, OGC `datetime`):
//! parsed, never passed on as text that merely looks like a time.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::ApiError;

/// An RFC 3339 time or a date (`YYYY-MM-DD`, UTC midnight), as RFC 3339
/// UTC: the form the store writes, so that text order is time order.
pub fn utc(s: &str) -> Result<String, String> {
    let t = OffsetDateTime::parse(s, &Rfc3339)
        .or_else(|_| {
            time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
                .map(|d| d.midnight().assume_utc())
        })
        .map_err(|_| {
            format!("{s:?} is not an RFC 3339 time (2026-11-25T08:00:00Z) or a date (2026-11-25)")
        })?;
    Ok(t.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .expect("formats"))
}

/// `field` as [`utc`], or 400 naming it.
pub fn query_time(field: &str, s: &str) -> Result<String, ApiError> {
    utc(s).map_err(|e| ApiError::BadRequest(format!("{field}: {e}")))
}

/// OGC API Features `datetime`: an instant, or an interval `start/end`
/// whose open ends are `..` (or empty); 400 otherwise.
pub fn ogc_datetime(s: &str) -> Result<(), ApiError> {
    let bad = |why: String| ApiError::BadRequest(format!("datetime={s:?}: {why}"));
    let parts: Vec<&str> = s.split('/').collect();
    match parts.as_slice() {
        [one] => utc(one).map(|_| ()).map_err(bad),
        [a, b] => {
            let end = |x: &str| -> Result<Option<String>, ApiError> {
                if x.is_empty() || x == ".." {
                    Ok(None)
                } else {
                    utc(x).map(Some).map_err(bad)
                }
            };
            match (end(a)?, end(b)?) {
                (None, None) => Err(bad("an interval needs at least one end".into())),
                (Some(a), Some(b)) if a > b => {
                    Err(bad("the interval ends before it starts".into()))
                }
                _ => Ok(()),
            }
        }
        _ => Err(bad("an instant or an interval start/end".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_or_say_why() {
        assert_eq!(utc("2026-03-01").unwrap(), "2026-03-01T00:00:00Z");
        assert_eq!(
            utc("2026-03-01T08:00:00+08:00").unwrap(),
            "2026-03-01T00:00:00Z"
        );
        assert!(utc("garbage").is_err());
        for ok in [
            "2020-01-01T00:00:00Z",
            "2020-01-01T00:00:00Z/..",
            "../2021-01-01",
            "2020-01-01/2021-01-01",
        ] {
            assert!(ogc_datetime(ok).is_ok(), "{ok}");
        }
        for bad in [
            "garbage",
            "../..",
            "2021-01-01/2020-01-01",
            "a/b/c",
            "2020-13-01",
        ] {
            assert!(ogc_datetime(bad).is_err(), "{bad}");
        }
    }
}
