//! A coverage report as GeoJSON (findings on the map), CSV (UTF-8 with a
//! BOM, so Excel on a Chinese Windows opens it) and XLSX (a sheet of grids,
//! one of findings, one of regions).

use geojson::{Feature, FeatureCollection, JsonObject};
use serde_json::{json, Value};

use super::{Finding, GridFigures, Report, Rollup};

/// Findings with a place, as a feature collection.
pub fn geojson(r: &Report) -> FeatureCollection {
    let features = r
        .findings
        .iter()
        .filter_map(|f| {
            let g = f.geometry.as_ref()?;
            let mut props = JsonObject::new();
            if let Value::Object(m) = finding_json(f) {
                props.extend(m);
            }
            Some(Feature {
                geometry: Some(geojson::Geometry::from(g)),
                properties: Some(props),
                ..Feature::default()
            })
        })
        .collect();
    FeatureCollection {
        features,
        bbox: None,
        foreign_members: None,
    }
}

/// A finding's properties.
pub fn finding_json(f: &Finding) -> Value {
    json!({
        "kind": f.kind,
        "kind_name": f.kind.name_zh(),
        "severity": f.severity,
        "region": f.region.to_string(),
        "level": f.level.map(crate::domain::Level::get),
        "grids": f.grids,
        "area_m2": (f.area_m2 * 10.0).round() / 10.0,
        "households": f.households,
        "vulnerable": f.vulnerable,
    })
}

const GRID_HEADER: [&str; 16] = [
    "网格编码",
    "网格名称",
    "层级",
    "所属区划",
    "面积(平方米)",
    "住户",
    "重点户",
    "已覆盖重点户",
    "路网可达重点户",
    "网格员",
    "专职网格员",
    "网格长",
    "每名专职网格员户数",
    "缺网格员",
    "缺网格长",
    "超负荷",
];

fn grid_row(g: &GridFigures) -> Vec<String> {
    let yes = |b: bool| if b { "是" } else { "" }.to_string();
    vec![
        g.code.clone(),
        g.name.clone(),
        g.level.to_string(),
        g.region.clone(),
        format!("{:.0}", g.area_m2),
        g.households.iter().sum::<u64>().to_string(),
        g.vulnerable.to_string(),
        g.reached.to_string(),
        g.reached_by_road.map(|x| x.to_string()).unwrap_or_default(),
        g.workers.to_string(),
        g.full_time_workers.to_string(),
        g.leaders.to_string(),
        g.households_per_full_time
            .map(|x| format!("{x:.1}"))
            .unwrap_or_default(),
        yes(g.unstaffed),
        yes(g.no_leader),
        yes(g.overloaded),
    ]
}

const FINDING_HEADER: [&str; 9] = [
    "问题",
    "类型",
    "严重程度",
    "区划",
    "层级",
    "网格",
    "面积(平方米)",
    "住户",
    "重点户",
];

fn finding_row(f: &Finding) -> Vec<String> {
    vec![
        f.kind.name_zh().to_string(),
        serde_json::to_value(f.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        match f.severity {
            super::Severity::High => "高",
            super::Severity::Medium => "中",
            super::Severity::Low => "低",
        }
        .to_string(),
        f.region.to_string(),
        f.level.map(|l| l.get().to_string()).unwrap_or_default(),
        f.grids.join(" "),
        format!("{:.1}", f.area_m2),
        f.households.to_string(),
        f.vulnerable.to_string(),
    ]
}

const REGION_HEADER: [&str; 12] = [
    "区划编码",
    "名称",
    "住户",
    "重点户",
    "已覆盖重点户",
    "重点户覆盖率%",
    "网格",
    "需配人员网格",
    "配齐人员网格",
    "网格配齐率%",
    "土地入格率%",
    "问题数",
];

fn region_row(r: &Rollup) -> Vec<String> {
    vec![
        r.code.clone(),
        r.name.clone(),
        r.households.iter().sum::<u64>().to_string(),
        r.vulnerable.to_string(),
        r.reached.to_string(),
        r.reached_pct.to_string(),
        r.grids.to_string(),
        r.grids_needing_staff.to_string(),
        r.grids_staffed.to_string(),
        r.grids_staffed_pct.to_string(),
        r.land_covered_pct.to_string(),
        r.findings.values().sum::<u64>().to_string(),
    ]
}

/// Grids, then a blank line, then findings.
pub fn csv(r: &Report) -> String {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let mut write = |row: Vec<String>| {
        let _ = w.write_record(row.iter().map(|c| crate::io::cell::cell(c).into_owned()));
    };
    write(REGION_HEADER.iter().map(|s| (*s).to_string()).collect());
    write(region_row(&r.region));
    for c in &r.children {
        write(region_row(c));
    }
    write(vec![String::new()]);
    write(GRID_HEADER.iter().map(|s| (*s).to_string()).collect());
    for g in &r.grids {
        write(grid_row(g));
    }
    write(vec![String::new()]);
    write(FINDING_HEADER.iter().map(|s| (*s).to_string()).collect());
    for f in &r.findings {
        write(finding_row(f));
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

/// Three sheets: 区划 (regions), 网格 (grids), 问题 (findings).
pub fn xlsx(r: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut regions = vec![region_row(&r.region)];
    regions.extend(r.children.iter().map(region_row));
    crate::io::xlsx::workbook(&[
        ("区划", &REGION_HEADER, regions),
        ("网格", &GRID_HEADER, r.grids.iter().map(grid_row).collect()),
        (
            "问题",
            &FINDING_HEADER,
            r.findings.iter().map(finding_row).collect(),
        ),
    ])
}
