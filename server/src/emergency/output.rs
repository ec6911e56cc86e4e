//! A dispatch plan as GeoJSON (volunteer → household ways for the map,
//! along the roads the plan walked),
//! CSV (UTF-8 with BOM, so Excel on a Chinese Windows opens it) and a
//! printable Chinese HTML sheet grouped by volunteer.

use std::fmt::Write;

use serde_json::{json, Value};

use super::area::DispatchPlan;
use crate::io::cell::csv_field as csv_cell;

/// The way from each volunteer to each of their households (along the
/// roads when the plan walked), the unserved households and the flagged
/// volunteers inside the area as points.
pub fn geojson(plan: &DispatchPlan) -> Value {
    let mut features = Vec::new();
    for r in &plan.routes {
        for s in &r.households {
            features.push(json!({
                "type": "Feature",
                "geometry": { "type": "LineString", "coordinates": s.path },
                "properties": { "kind": "assignment", "volunteer": r.volunteer.id, "volunteer_name": r.volunteer.name, "household": s.household.id, "care": s.household.care, "travel_m": s.travel_m, "walk_min": s.walk_min, "along": s.along },
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
    for v in &plan.inside_area {
        features.push(json!({
            "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [v.lon, v.lat] },
            "properties": { "kind": "inside_area", "volunteer": v.id, "volunteer_name": v.name, "sent": plan.allow_inside },
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
        "志愿者编号,志愿者,志愿者电话,住户编号,户类别,户主,住户电话,地址,步行距离(米),步行分钟,未派原因\n",
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
                format!("{:.1}", s.walk_min),
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

/// Text safe inside HTML elements and attribute values.
pub(crate) fn esc(s: &str) -> String {
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
            "<section><h2>{} · {} · {}</h2><p class=\"meta\">队伍：{}　技能：{}　合计 {:.0} 米，步行约 {:.0} 分钟</p>\
<table><tr><th>#</th><th>户类别</th><th>户主</th><th>电话</th><th>地址</th><th>距离(米)</th><th>步行(分钟)</th><th>已到</th></tr>",
            esc(v.name.as_deref().unwrap_or_default()),
            esc(v.phone.as_deref().unwrap_or_default()),
            v.id,
            esc(v.team.as_deref().unwrap_or("-")),
            esc(&v.skills.join("、")),
            r.travel_m,
            r.walk_min.ceil()
        );
        for (i, s) in r.households.iter().enumerate() {
            let x = &s.household;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.1}</td><td>□</td></tr>",
                i + 1,
                esc(&x.care_name),
                esc(x.head_name.as_deref().unwrap_or_default()),
                esc(x.phone.as_deref().unwrap_or_default()),
                esc(x.address.as_deref().unwrap_or_default()),
                s.travel_m,
                s.walk_min
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
    if !plan.inside_area.is_empty() {
        let _ = write!(
            h,
            "<section><h2>身处危险区域内的志愿者（{}）</h2><table><tr><th>志愿者</th><th>电话</th><th>编号</th><th>队伍</th></tr>",
            if plan.allow_inside { "经指挥员同意，可派出" } else { "未派出" }
        );
        for v in &plan.inside_area {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(v.name.as_deref().unwrap_or_default()),
                esc(v.phone.as_deref().unwrap_or_default()),
                v.id,
                esc(v.team.as_deref().unwrap_or("-"))
            );
        }
        h.push_str("</table></section>");
    }
    h.push_str("</body></html>");
    h
}
