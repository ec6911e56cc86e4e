//! CSV with longitude/latitude columns, streamed: a million rows never sit in
//! memory at once. Chinese offices export UTF-8 (often with a BOM) and
//! GB18030 (Excel's "CSV" on a Chinese Windows); both are read, the encoding
//! detected from the first 64 KiB unless `--encoding` names it.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs::{Encoding, GB18030, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;
use geo_types::Coord;

use super::build::{build, Field, Fields, RawGeometry};
use super::{file_error, ImportOptions, IoError, Location, RecordError, RecordStream};
use crate::domain::{Layer, Record};

/// Sniffs the encoding: a BOM decides; else valid UTF-8 (allowing a
/// character cut at the end of the sample) is UTF-8; else GB18030.
pub fn detect_encoding(sample: &[u8]) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(sample) {
        return enc;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => UTF_8,
        Err(e) if e.error_len().is_none() => UTF_8,
        Err(_) => GB18030,
    }
}

/// Where each field sits in a row.
pub(super) struct ColumnMap {
    idx: Vec<Option<usize>>,
}

impl ColumnMap {
    /// Resolves the header; fails when a needed column is missing or a column
    /// the user named is absent, listing the columns that were found.
    pub(super) fn resolve(
        header: &[String],
        layer: Layer,
        opts: &ImportOptions,
    ) -> Result<Self, String> {
        let lower: Vec<String> = header
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_lowercase())
            .collect();
        let found = || {
            header
                .iter()
                .map(|h| format!("{:?}", h.trim()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut idx = vec![None; Field::ALL.len()];
        for f in Field::ALL {
            let names = opts.columns.names(f);
            let at = names.iter().find_map(|n| lower.iter().position(|h| h == n));
            if at.is_none() && opts.columns.named(f) {
                return Err(format!(
                    "column {:?} named for {f:?} is not in the header (found: {})",
                    names[0],
                    found()
                ));
            }
            idx[f as usize] = at;
        }
        if matches!(layer, Layer::Households | Layer::People) {
            for f in [Field::Lon, Field::Lat] {
                if idx[f as usize].is_none() {
                    return Err(format!(
                        "missing column for {}: none of {} (found: {}); name it with --{}-col",
                        if f == Field::Lon {
                            "longitude"
                        } else {
                            "latitude"
                        },
                        opts.columns.names(f).join(", "),
                        found(),
                        if f == Field::Lon { "lon" } else { "lat" },
                    ));
                }
            }
        } else {
            return Err(format!(
                "{layer} cannot be read from a table with lon/lat columns; use GeoJSON or OSM PBF"
            ));
        }
        Ok(Self { idx })
    }

    pub(super) fn index(&self, f: Field) -> Option<usize> {
        self.idx[f as usize]
    }
}

/// One row seen through the column map.
pub(super) struct Row<'a, S: AsRef<str>> {
    pub map: &'a ColumnMap,
    pub cells: &'a [S],
}

impl<S: AsRef<str>> Fields for Row<'_, S> {
    fn get(&self, f: Field) -> Option<&str> {
        self.map
            .index(f)
            .and_then(|i| self.cells.get(i))
            .map(AsRef::as_ref)
    }
}

/// Parses lon/lat cells into a point, naming the field at fault.
pub(super) fn point_of(fields: &dyn Fields) -> Result<RawGeometry, (Option<String>, String)> {
    let num = |f: Field, name: &str| -> Result<f64, (Option<String>, String)> {
        let s = fields.get(f).map(str::trim).unwrap_or_default();
        if s.is_empty() {
            return Err((Some(name.into()), "missing".into()));
        }
        s.parse::<f64>()
            .map_err(|_| (Some(name.into()), format!("{s:?} is not a number")))
    };
    Ok(RawGeometry::Point(Coord {
        x: num(Field::Lon, "lon")?,
        y: num(Field::Lat, "lat")?,
    }))
}

/// Opens a CSV file of `layer` records.
pub fn read(path: &Path, layer: Layer, opts: &ImportOptions) -> Result<RecordStream, IoError> {
    let file = File::open(path).map_err(|e| file_error(path, e.to_string()))?;
    read_from(
        BufReader::with_capacity(1 << 20, file),
        &path.display().to_string(),
        layer,
        opts,
    )
}

/// Reads CSV `layer` records from any byte source (a file, an uploaded
/// body), `name` naming it in messages: the one reader the CLI and the
/// HTTP upload share.
pub fn read_from(
    source: impl Read + Send + 'static,
    name: &str,
    layer: Layer,
    opts: &ImportOptions,
) -> Result<RecordStream, IoError> {
    let path = Path::new(name);
    let mut source = source;
    let mut sample = Vec::with_capacity(64 * 1024);
    (&mut source)
        .take(64 * 1024)
        .read_to_end(&mut sample)
        .map_err(|e| file_error(path, e.to_string()))?;
    let encoding = opts.encoding.unwrap_or_else(|| detect_encoding(&sample));
    let decoded = DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding))
        .bom_override(true)
        .utf8_passthru(true)
        .strip_bom(true)
        .build(std::io::Cursor::new(sample).chain(source));
    let decoded = LfOnly::new(BufReader::new(decoded));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(decoded);
    let name = name.to_string();
    let mut header = csv::StringRecord::new();
    match reader.read_record(&mut header) {
        Ok(true) => {}
        Ok(false) => return Err(file_error(path, "empty file: expected a header row")),
        Err(e) => return Err(file_error(path, csv_problem(&e, encoding))),
    }
    let header: Vec<String> = header.iter().map(str::to_string).collect();
    let map = ColumnMap::resolve(&header, layer, opts).map_err(|p| {
        if header.iter().any(|h| h.contains('\u{fffd}')) {
            file_error(path, format!("{p}; the header is not valid {}: name the encoding with --encoding gb18030 or --encoding utf-8", encoding.name()))
        } else {
            file_error(path, p)
        }
    })?;
    let opts = opts.clone();
    let width = header.len();
    let mut row = csv::StringRecord::new();
    let mut pending: std::vec::IntoIter<Record> = Vec::new().into_iter();
    let mut line = 1u64;
    Ok(Box::new(std::iter::from_fn(move || loop {
        if let Some(r) = pending.next() {
            return Some(Ok(r));
        }
        let at = |line: u64, field: Option<String>, problem: String| RecordError {
            file: name.clone(),
            location: Location::Line(line),
            field,
            problem,
        };
        match reader.read_record(&mut row) {
            Ok(false) => return None,
            Err(e) => {
                line += 1;
                let l = e.position().map_or(line, csv::Position::line);
                // A broken row cannot be resynchronised reliably: report and stop.
                let problem = csv_problem(&e, encoding);
                return Some(Err(at(l, None, problem)));
            }
            Ok(true) => {
                line = row.position().map_or(line + 1, csv::Position::line);
                opts.row.set(line);
                if row.len() == 1 && row.get(0).is_some_and(|c| c.trim().is_empty()) {
                    continue; // blank line
                }
                if row.len() != width {
                    return Some(Err(at(
                        line,
                        None,
                        format!("{} fields where the header has {width}", row.len()),
                    )));
                }
                let cells: Vec<&str> = row.iter().collect();
                let fields = Row {
                    map: &map,
                    cells: &cells,
                };
                let result = point_of(&fields).and_then(|g| build(layer, &g, &fields, &opts));
                match result {
                    Ok(records) => pending = records.into_iter(),
                    Err((field, problem)) => return Some(Err(at(line, field, problem))),
                }
            }
        }
    })))
}

fn csv_problem(e: &csv::Error, encoding: &'static Encoding) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => format!(
            "text is not valid {} (detected from the start of the file); name the encoding with --encoding utf-8 or --encoding gb18030",
            encoding.name()
        ),
        _ => format!("malformed CSV: {e}"),
    }
}

/// Line ends as `\n` only: Excel saves CSV with `\r\n`, and the csv
/// crate then numbers each record one line short (rust-csv issue 395), so
/// a report would send the clerk to the wrong row. A `\r` right before a
/// `\n` is dropped, across buffer boundaries too; any other `\r` stays.
struct LfOnly<R> {
    inner: R,
}

impl<R: std::io::BufRead> LfOnly<R> {
    fn new(inner: R) -> Self {
        Self { inner }
    }
}

impl<R: std::io::BufRead> Read for LfOnly<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let avail = self.inner.fill_buf()?;
        if avail.is_empty() {
            return Ok(0);
        }
        if avail == b"\r" {
            // The buffer ends in `\r`: the next one says what it was.
            self.inner.consume(1);
            let lf = self.inner.fill_buf()?.first() == Some(&b'\n');
            if lf {
                self.inner.consume(1);
            }
            buf[0] = if lf { b'\n' } else { b'\r' };
            return Ok(1);
        }
        let (mut r, mut w) = (0, 0);
        while r < avail.len() && w < buf.len() {
            if avail[r] == b'\r' {
                if r + 1 == avail.len() {
                    break; // decided on the next read
                }
                if avail[r + 1] == b'\n' {
                    r += 1;
                    continue;
                }
            }
            buf[w] = avail[r];
            w += 1;
            r += 1;
        }
        self.inner.consume(r);
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn import(
        text: &[u8],
        layer: Layer,
        opts: &ImportOptions,
    ) -> Result<Vec<Result<Record, RecordError>>, IoError> {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(text).unwrap();
        read(f.path(), layer, opts).map(Iterator::collect)
    }

    #[test]
    fn reads_utf8_with_bom_and_chinese_headers() {
        let text =
            "\u{feff}编号,经度,纬度,人数,户类别,地址\n1,121.49,31.24,3,关心户,中山东一路1号\n"
                .as_bytes();
        let rows = import(text, Layer::Households, &ImportOptions::default()).unwrap();
        let Ok(Record::Household(h)) = &rows[0] else {
            panic!("{rows:?}")
        };
        assert_eq!((h.id, h.size, h.care.0), (1, 3, 1));
        assert_eq!(h.address, "中山东一路1号");
    }

    #[test]
    fn a_volunteer_status_column_wins_over_available_and_is_checked() {
        let text = "编号,经度,纬度,角色,在岗,状态\n1,116.4,39.9,volunteer,1,已派出\n2,116.4,39.9,volunteer,0,\n3,116.4,39.9,volunteer,1,asleep\n"
            .as_bytes();
        let rows = import(text, Layer::People, &ImportOptions::default()).unwrap();
        let status = |i: usize| match &rows[i] {
            Ok(Record::Person(p)) => Some(p.status),
            _ => None,
        };
        use crate::domain::Availability;
        assert_eq!(status(0), Some(Availability::Dispatched));
        assert_eq!(status(1), Some(Availability::OffDuty), "from 在岗 = 0");
        let e = rows[2].as_ref().unwrap_err().to_string();
        assert!(e.contains("status") && e.contains("asleep"), "{e}");
    }

    #[test]
    fn reads_gb18030() {
        let (bytes, _, _) = GB18030.encode("编号,经度,纬度,地址\n7,116.4,39.9,北京市东城区\n");
        assert_eq!(detect_encoding(&bytes), GB18030);
        let rows = import(&bytes, Layer::Households, &ImportOptions::default()).unwrap();
        let Ok(Record::Household(h)) = &rows[0] else {
            panic!("{rows:?}")
        };
        assert_eq!(h.address, "北京市东城区");
    }

    #[test]
    fn missing_column_lists_what_was_found() {
        let e = import(
            b"id,x_coord,lat\n1,2,3\n",
            Layer::Households,
            &ImportOptions::default(),
        )
        .err()
        .unwrap();
        let msg = e.to_string();
        assert!(
            msg.contains("longitude") && msg.contains("\"x_coord\"") && msg.contains("--lon-col"),
            "{msg}"
        );
    }

    #[test]
    fn bad_rows_name_line_and_field() {
        let text = b"id,lon,lat\n1,121.4,31.2\n2,abc,31.2\n3,31.2,121.4\n4,NaN,31\n5,121.4\n";
        let rows = import(text, Layer::Households, &ImportOptions::default()).unwrap();
        let errs: Vec<String> = rows
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(ToString::to_string)
            .collect();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(
            errs[0].contains("line 3") && errs[0].contains("field lon") && errs[0].contains("abc")
        );
        assert!(errs[1].contains("line 4") && errs[1].contains("swapped"));
        assert!(errs[2].contains("line 5") && errs[2].contains("finite"));
        assert!(errs[3].contains("line 6") && errs[3].contains("2 fields"));
    }

    #[test]
    fn named_columns_are_used() {
        let mut opts = ImportOptions::default();
        opts.columns.lon_col = Some("X坐标".into());
        opts.columns.lat_col = Some("Y坐标".into());
        let rows = import(
            "id,X坐标,Y坐标\n1,121.4,31.2\n".as_bytes(),
            Layer::Households,
            &opts,
        )
        .unwrap();
        assert!(rows[0].is_ok(), "{rows:?}");
    }

    /// Excel's CRLF line ends number rows as LF files do, and a `\r\n`
    /// split across reads is still one line end.
    #[test]
    fn crlf_rows_name_their_own_line() {
        let text = b"lon,lat,size\r\n109.02,32.68,2\r\nabc,32.68,2\r\n109.02,32.68,x\r\n";
        let rows = import(text, Layer::Households, &ImportOptions::default()).unwrap();
        let errs: Vec<String> = rows
            .iter()
            .filter_map(|r| r.as_ref().err().map(ToString::to_string))
            .collect();
        assert!(errs[0].contains("line 3"), "{errs:?}");
        assert!(errs[1].contains("line 4"), "{errs:?}");
        for chunk in 1..5 {
            let src = b"a\r\nb\rc\r\n\r";
            let mut out = Vec::new();
            let mut r = LfOnly::new(BufReader::with_capacity(chunk, &src[..]));
            let mut buf = vec![0; chunk];
            loop {
                let n = r.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out, b"a\nb\rc\n\r", "reads of {chunk}");
        }
    }
}
