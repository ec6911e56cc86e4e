//! XLSX workbooks: read (and XLS/ODS, which calamine reads alike) with
//! lon/lat columns, the first sheet, the first row as header; and written,
//! sheets of rows for exports. Spreadsheets are read whole; offices send
//! thousands of rows, not millions (use CSV for those).

use std::path::Path;

use calamine::{open_workbook_auto, open_workbook_auto_from_rs, Data, Reader, Sheets};

use super::build::build;
use super::csv::{point_of, ColumnMap, Row};
use super::{file_error, ImportOptions, IoError, Location, RecordError, RecordStream};
use crate::domain::Layer;

/// A workbook of sheets, each `(name, header, rows)`: the header in bold,
/// numbers as numbers (so the sheet can sum them) except in columns whose
/// header names a code (编码, 编号, 区划), text made safe from formula
/// injection ([`super::cell::cell`]), columns fitted to their content.
pub fn workbook(
    sheets: &[(&str, &[&str], Vec<Vec<String>>)],
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (name, header, rows) in sheets {
        let s = book.add_worksheet();
        s.set_name(*name)?;
        for (c, h) in header.iter().enumerate() {
            s.write_string_with_format(0, c as u16, *h, &bold)?;
        }
        let code = |c: usize| {
            header
                .get(c)
                .is_some_and(|h| ["编码", "编号", "区划"].iter().any(|k| h.contains(k)))
        };
        for (i, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (rr, cc) = (i as u32 + 1, c as u16);
                match v.parse::<f64>() {
                    Ok(n) if !code(c) && n.is_finite() => {
                        s.write_number(rr, cc, n)?;
                    }
                    _ => {
                        s.write_string(rr, cc, super::cell::cell(v))?;
                    }
                }
            }
        }
        s.autofit();
    }
    book.save_to_buffer()
}

fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Opens the first sheet of a workbook as `layer` records.
pub fn read(path: &Path, layer: Layer, opts: &ImportOptions) -> Result<RecordStream, IoError> {
    let book = open_workbook_auto(path)
        .map_err(|e| file_error(path, format!("not a readable workbook: {e}")))?;
    first_sheet(book, &path.display().to_string(), layer, opts)
}

/// The first sheet of a workbook held in memory (an uploaded body), `name`
/// naming it in messages: the same reader as [`read`].
pub fn read_bytes(
    bytes: Vec<u8>,
    name: &str,
    layer: Layer,
    opts: &ImportOptions,
) -> Result<RecordStream, IoError> {
    let book = open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| file_error(Path::new(name), format!("not a readable workbook: {e}")))?;
    first_sheet(book, name, layer, opts)
}

fn first_sheet<RS: std::io::Read + std::io::Seek>(
    mut book: Sheets<RS>,
    name: &str,
    layer: Layer,
    opts: &ImportOptions,
) -> Result<RecordStream, IoError> {
    let path = Path::new(name);
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return Err(file_error(path, "the workbook has no sheets"));
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| file_error(path, format!("sheet {sheet}: {e}")))?;
    let start_row = range.start().map_or(0, |(r, _)| r) + 1;
    let mut rows = range
        .rows()
        .map(|r| r.iter().map(cell_text).collect::<Vec<String>>());
    let Some(header) = rows.next() else {
        return Err(file_error(
            path,
            format!("sheet {sheet} is empty: expected a header row"),
        ));
    };
    let map = ColumnMap::resolve(&header, layer, opts)
        .map_err(|p| file_error(path, format!("sheet {sheet}: {p}")))?;
    let name = name.to_string();
    let opts = opts.clone();
    let records: Vec<_> = rows
        .enumerate()
        .filter(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()))
        .flat_map(|(i, cells)| {
            let row = u64::from(start_row) + 1 + i as u64;
            let fields = Row {
                map: &map,
                cells: &cells,
            };
            match point_of(&fields).and_then(|g| build(layer, &g, &fields, &opts)) {
                Ok(rs) => rs.into_iter().map(|r| (row, Ok(r))).collect::<Vec<_>>(),
                Err((field, problem)) => vec![(
                    row,
                    Err(RecordError {
                        file: name.clone(),
                        location: Location::Row {
                            sheet: sheet.clone(),
                            row,
                        },
                        field,
                        problem,
                    }),
                )],
            }
        })
        .collect();
    let cursor = opts.row.clone();
    Ok(Box::new(records.into_iter().map(move |(row, r)| {
        cursor.set(row);
        r
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Record;

    #[test]
    fn reads_first_sheet_with_chinese_headers_and_reports_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("住户.xlsx");
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("住户").unwrap();
        for (c, h) in ["编号", "经度", "纬度", "人数", "户类别"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, c as u16, *h).unwrap();
        }
        sheet.write_number(1, 0, 1.0).unwrap();
        sheet.write_number(1, 1, 121.49).unwrap();
        sheet.write_number(1, 2, 31.24).unwrap();
        sheet.write_number(1, 3, 2.0).unwrap();
        sheet.write_string(1, 4, "连心户").unwrap();
        sheet.write_number(2, 0, 2.0).unwrap();
        sheet.write_string(2, 1, "东经121度").unwrap();
        sheet.write_number(2, 2, 31.24).unwrap();
        book.save(&path).unwrap();

        let rows: Vec<_> = read(&path, Layer::Households, &ImportOptions::default())
            .unwrap()
            .collect();
        let Ok(Record::Household(h)) = &rows[0] else {
            panic!("{rows:?}")
        };
        assert_eq!((h.id, h.size, h.care.0), (1, 2, 2));
        let e = rows[1].as_ref().unwrap_err().to_string();
        assert!(
            e.contains("sheet 住户 row 3") && e.contains("field lon"),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_not_a_workbook() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.xlsx");
        std::fs::write(&path, b"not a zip").unwrap();
        let e = read(&path, Layer::Households, &ImportOptions::default())
            .err()
            .unwrap();
        assert!(e.to_string().contains("not a readable workbook"), "{e}");
    }
}
