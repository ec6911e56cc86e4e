//! A dispatch plan as GeoJSON (volunteer → household lines for the map),
//! CSV (UTF-8 with BOM, so Excel on a Chinese Windows opens it) and a
//! printable Chinese HTML sheet grouped by volunteer.

use std::fmt::Write;

use serde_json::{json, Value};

use super::area::DispatchPlan;
use crate::io::cell::csv_field as csv_cell;

/// Lines from each volunteer to each of their households, and the
/// unserved households as points.
pub fn geojson(plan: &DispatchPlan) -> Value {
    let mut features = Vec::new();
    for r in &plan.routes {
        for s in &r.households {
            features.push(json!({
                "type": "Feature",
                "geometry": { "type": "LineString", "coordinates": [[r.volunteer.lon, r.volunteer.lat], [s.household.lon, s.household.lat]] },
                "properties": { "kind": "assignment", "volunteer": r.volunteer.id, "volunteer_name": r.volunteer.name, "household": s.household.id, "care": s.household.care, "travel_m": s.travel_m },
            }));
        }
    }
    for u in &plan.unserved {
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [u.household.lon, u.household.lat] },
            "properties": { "kind": "unserved", "household": u.household.id, "care": u.household.care, "reason": u.reason },
        }));
    }
    json!({ "type": "FeatureCollection", "features": features })
}

/// One row per household: who goes, where, how far; unserved ones last.
pub fn csv(plan: &DispatchPlan, made_by: &str, made_at: &str) -> String {
    let mut out = String::from("\u{feff}");
    let _ = writeln!(
        out,
        "# 调度单,生成人 {},时间 {}",
        csv_cell(made_by),
        made_at
    );
    out.push_str(
        "志愿者编号,志愿者,志愿者电话,住户编号,户类别,户主,住户电话,地址,步行距离(米),未派原因\n",
    );
    for r in &plan.routes {
        for s in &r.households {
            let h = &s.household;
            let cells = [
                r.volunteer.id.to_string(),
                r.volunteer.name.clone().unwrap_or_default(),
                r.volunteer.phone.clone().unwrap_or_default(),
                h.id.to_string(),
                h.care_name.clone(),
                h.head_name.clone().unwrap_or_default(),
                h.phone.clone().unwrap_or_default(),
                h.address.clone().unwrap_or_default(),
                format!("{:.0}", s.travel_m),
                String::new(),
            ];
            out.push_str(
                &cells
                    .iter()
                    .map(|c| csv_cell(c))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push('\n');
        }
    }
    for u in &plan.unserved {
        let h = &u.household;
        let cells = [
            "",
            "",
            "",
            &h.id.to_string(),
            &h.care_name,
            h.head_name.as_deref().unwrap_or_default(),
            h.phone.as_deref().unwrap_or_default(),
            h.address.as_deref().unwrap_or_default(),
            "",
            &u.reason,
        ];
        out.push_str(
            &cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A printable sheet: one section per volunteer, then the unserved.
pub fn html(plan: &DispatchPlan, title: &str, made_by: &str, made_at: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}</title><style>\
body{{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif;margin:1.5cm;color:#111}}\
h1{{font-size:18pt;margin:0 0 4pt}}h2{{font-size:13pt;margin:14pt 0 4pt;border-bottom:1px solid #444}}\
table{{border-collapse:collapse;width:100%;font-size:10.5pt}}td,th{{border:1px solid #999;padding:3pt 5pt;text-align:left}}\
.meta{{color:#555;font-size:9.5pt}}section{{page-break-inside:avoid}}@media print{{body{{margin:1cm}}}}</style></head><body>\
<h1>{t}</h1><p class=\"meta\">生成人：{by}　时间：{at}　方法：最小费用流（精确分配，重点户优先）　每名志愿者最多 {cap} 户，最远 {max:.0} 米</p>\
<p>需走访 {n} 户，已派 {s} 户，未派 {u} 户；出动志愿者 {v} 名，总步行 {total:.0} 米。</p>",
        t = esc(title),
        by = esc(made_by),
        at = esc(made_at),
        cap = plan.capacity,
        max = plan.max_distance_m,
        n = plan.households,
        s = plan.served,
        u = plan.unserved.len(),
        v = plan.routes.len(),
        total = plan.total_travel_m,
    );
    for r in &plan.routes {
        let v = &r.volunteer;
        let _ = write!(
            h,
            "<section><h2>{} · {} · {}</h2><p class=\"meta\">队伍：{}　技能：{}　合计 {:.0} 米</p>\
<table><tr><th>#</th><th>户类别</th><th>户主</th><th>电话</th><th>地址</th><th>距离(米)</th><th>已到</th></tr>",
            esc(v.name.as_deref().unwrap_or_default()),
            esc(v.phone.as_deref().unwrap_or_default()),
            v.id,
            esc(v.team.as_deref().unwrap_or("-")),
            esc(&v.skills.join("、")),
            r.travel_m
        );
        for (i, s) in r.households.iter().enumerate() {
            let x = &s.household;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>□</td></tr>",
                i + 1,
                esc(&x.care_name),
                esc(x.head_name.as_deref().unwrap_or_default()),
                esc(x.phone.as_deref().unwrap_or_default()),
                esc(x.address.as_deref().unwrap_or_default()),
                s.travel_m
            );
        }
        h.push_str("</table></section>");
    }
    if !plan.unserved.is_empty() {
        h.push_str("<section><h2>未能派出</h2><table><tr><th>户类别</th><th>户主</th><th>电话</th><th>地址</th><th>原因</th></tr>");
        for u in &plan.unserved {
            let x = &u.household;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&x.care_name),
                esc(x.head_name.as_deref().unwrap_or_default()),
                esc(x.phone.as_deref().unwrap_or_default()),
                esc(x.address.as_deref().unwrap_or_default()),
                esc(&u.reason)
            );
        }
        h.push_str("</table></section>");
    }
    h.push_str("</body></html>");
    h
}
