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

/// The offset times are shown in to people (sheets, CSV): `WANGGE_UTC_OFFSET`
/// (`+08:00`), else Asia/Shanghai's +08:00, which keeps no summer time.
pub fn display_offset() -> time::UtcOffset {
    std::env::var("WANGGE_UTC_OFFSET")
        .ok()
        .and_then(|s| {
            time::UtcOffset::parse(
                s.trim(),
                time::macros::format_description!("[offset_hour]:[offset_minute]"),
            )
            .ok()
        })
        .unwrap_or(time::macros::offset!(+8))
}

/// Now, for people: `2026-12-03 18:27 (UTC+08:00)`, to the minute, in
/// [`display_offset`].
pub fn now_for_people() -> String {
    let t = OffsetDateTime::now_utc().to_offset(display_offset());
    let f = time::macros::format_description!(
        "[year]-[month]-[day] [hour]:[minute] (UTC[offset_hour sign:mandatory]:[offset_minute])"
    );
    t.format(&f).expect("formats")
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
    fn times_for_people_are_to_the_minute_with_their_offset() {
        let s = now_for_people();
        assert_eq!(s.len(), "2026-12-03 18:27 (UTC+08:00)".len(), "{s}");
        assert!(s.ends_with(":00)"), "{s}");
        assert!(!s.contains('.'), "no fractions of a second: {s}");
    }

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
