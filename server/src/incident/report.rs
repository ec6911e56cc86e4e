//! Paper for an incident: the sheets a team or a grid takes out into the
//! night (tick boxes, since the network fails when the water rises) and
//! the report after it (timeline, figures, who was reached when), as
//! printable HTML and as XLSX. Times are shown in the offset the server is
//! configured with, to the minute.

use std::collections::BTreeMap;
use std::fmt::Write;

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::tally::{Counts, Group, Tally};
use super::{ContactStatus, HouseholdStatus, Incident, IncidentStatus, TimelineEntry};
use crate::domain::Availability;
use crate::emergency::area::{HouseholdRow, PersonRow};
use crate::emergency::output::esc;

/// Everything the paper shows, read once.
#[derive(Debug, Clone, Copy)]
pub struct Paper<'a> {
    pub incident: &'a Incident,
    /// With every waiting household (no limit).
    pub tally: &'a Tally,
    pub timeline: &'a [TimelineEntry],
    /// Who was reached when ([`super::tally::marked_rows`]).
    pub marked: &'a [(HouseholdStatus, HouseholdRow)],
    pub made_by: &'a str,
    /// When the paper was made, RFC 3339.
    pub made_at: &'a str,
    pub offset: UtcOffset,
    pub care_names: &'a [String],
}

/// An RFC 3339 time as people read it: `2026-07-02 01:34` in `offset`
/// (the text as given when it is not a time).
///
/// ```
/// let at = wangge::incident::report::local("2026-07-01T17:34:56.123456789Z", time::macros::offset!(+8));
/// assert_eq!(at, "2026-07-02 01:34");
/// ```
pub fn local(t: &str, offset: UtcOffset) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    OffsetDateTime::parse(t, &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(offset).format(&f).ok())
        .unwrap_or_else(|| t.to_string())
}

fn zone(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    format!(
        "UTC{}{:02}:{:02}",
        if offset.is_negative() { '-' } else { '+' },
        h.abs(),
        m.abs()
    )
}

const HEAD: &str = "<style>body{font-family:'Noto Sans CJK SC','WenQuanYi Micro Hei','Microsoft YaHei',sans-serif;margin:1.5cm;color:#111}\
h1{font-size:18pt;margin:0 0 4pt}h2{font-size:13pt;margin:14pt 0 4pt;border-bottom:1px solid #444}\
table{border-collapse:collapse;width:100%;font-size:10.5pt;margin-bottom:6pt}td,th{border:1px solid #999;padding:3pt 5pt;text-align:left}\
td.tick{text-align:center;width:3.2em}.meta{color:#555;font-size:9.5pt}section{page-break-inside:avoid}\
section.page{page-break-after:always}@media print{body{margin:1cm}}</style>";

impl Paper<'_> {
    fn care(&self, c: u8) -> String {
        self.care_names
            .get(usize::from(c))
            .cloned()
            .unwrap_or_else(|| c.to_string())
    }

    fn at(&self, t: &str) -> String {
        local(t, self.offset)
    }

    /// The page's head: title, kind, status, who made it and when.
    fn open(&self, what: &str) -> String {
        let i = self.incident;
        let mut h = String::new();
        let _ = write!(
            h,
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>{t}·{what}</title>{HEAD}</head><body>\
<h1>{t}·{what}</h1><p class=\"meta\">类型：{kind}　状态：{status}　开始：{opened}（{by}）{closed}　\
制表：{made_by}　{made}（{zone}）</p>",
            t = esc(&i.title),
            kind = i.kind.name_zh(),
            status = if i.status == IncidentStatus::Open { "进行中" } else { "已结束" },
            opened = self.at(&i.opened_at),
            by = esc(&i.opened_by),
            closed = i
                .closed_at
                .as_deref()
                .map(|c| format!("　结束：{}", self.at(c)))
                .unwrap_or_default(),
            made_by = esc(self.made_by),
            made = self.at(self.made_at),
            zone = zone(self.offset),
        );
        h
    }
}

const TICKS: [&str; 5] = ["已联系", "已到达", "不在家", "需转移", "已转移"];

/// The sheet per grid: for each grid, the households still waiting in
/// priority order, with a tick box per status and room for a note.
pub fn grid_sheet(p: &Paper<'_>) -> String {
    let mut h = p.open("分网格走访表");
    let mut by_grid: BTreeMap<&str, Vec<&super::tally::Waiting>> = BTreeMap::new();
    for w in &p.tally.waiting {
        by_grid
            .entry(w.household.grid.as_deref().unwrap_or("-"))
            .or_default()
            .push(w);
    }
    if by_grid.is_empty() {
        h.push_str("<p>没有待联系的重点户。</p>");
    }
    let names: BTreeMap<&str, &str> = p
        .tally
        .by_grid
        .iter()
        .map(|g| (g.code.as_str(), g.name.as_str()))
        .collect();
    for (grid, rows) in by_grid {
        let _ = write!(
            h,
            "<section class=\"page\"><h2>网格 {} {}（{} 户待联系）</h2><table><tr><th>#</th><th>户类别</th><th>状态</th>\
<th>户主</th><th>电话</th><th>地址</th><th>等待(分钟)</th>{}<th>备注</th></tr>",
            esc(grid),
            esc(names.get(grid).copied().unwrap_or(if grid == "-" { "不在任何网格" } else { "" })),
            rows.len(),
            TICKS.iter().map(|t| format!("<th>{t}</th>")).collect::<String>()
        );
        for (n, w) in rows.iter().enumerate() {
            let x = &w.household;
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}<td></td></tr>",
                n + 1,
                esc(&x.care_name),
                w.status.name_zh(),
                esc(x.head_name.as_deref().unwrap_or("-")),
                esc(x.phone.as_deref().unwrap_or("-")),
                esc(x.address.as_deref().unwrap_or("-")),
                w.waited_min,
                "<td class=\"tick\">□</td>".repeat(TICKS.len())
            );
        }
        h.push_str("</table></section>");
    }
    h.push_str("</body></html>");
    h
}

/// The sheet per volunteer team: the volunteers near the area with their
/// status now and tick boxes for arrived and done.
pub fn team_sheet(p: &Paper<'_>, volunteers: &[(PersonRow, Availability)]) -> String {
    let mut h = p.open("分队伍签到表");
    let mut by_team: BTreeMap<&str, Vec<&(PersonRow, Availability)>> = BTreeMap::new();
    for v in volunteers {
        by_team
            .entry(v.0.team.as_deref().unwrap_or("未编队"))
            .or_default()
            .push(v);
    }
    if by_team.is_empty() {
        h.push_str("<p>区域附近没有志愿者。</p>");
    }
    for (team, rows) in by_team {
        let _ = write!(
            h,
            "<section class=\"page\"><h2>{}（{} 人）</h2><table><tr><th>#</th><th>姓名</th><th>电话</th><th>编号</th>\
<th>技能</th><th>现状态</th><th>距区域(米)</th><th>已到达</th><th>已完成</th><th>时间</th><th>备注</th></tr>",
            esc(team),
            rows.len()
        );
        for (n, (v, status)) in rows.iter().enumerate() {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}</td>\
<td class=\"tick\">□</td><td class=\"tick\">□</td><td></td><td></td></tr>",
                n + 1,
                esc(v.name.as_deref().unwrap_or("-")),
                esc(v.phone.as_deref().unwrap_or("-")),
                v.id,
                esc(&v.skills.join("、")),
                status.name_zh(),
                v.distance_m
            );
        }
        h.push_str("</table></section>");
    }
    h.push_str("</body></html>");
    h
}

/// A table of counts by status, one row per group.
fn counts_table(h: &mut String, first: &str, rows: &[(String, &Counts)]) {
    let _ = write!(
        h,
        "<table><tr><th>{first}</th><th>重点户</th><th>已服务</th>"
    );
    for s in ContactStatus::ALL {
        let _ = write!(h, "<th>{}</th>", s.name_zh());
    }
    h.push_str("</tr>");
    for (name, c) in rows {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td>",
            esc(name),
            c.total,
            c.served
        );
        for s in ContactStatus::ALL {
            let _ = write!(h, "<td>{}</td>", c.by_status.get(s.as_str()).unwrap_or(&0));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}

fn group_rows(gs: &[Group]) -> Vec<(String, &Counts)> {
    gs.iter()
        .map(|g| {
            (
                format!("{} {}", g.code, g.name).trim().to_string(),
                &g.counts,
            )
        })
        .collect()
}

/// The report after (or during) the incident: figures, tallies by care
/// level, grid and community, the areas drawn, the timeline, and who was
/// reached when. Printable (and so savable as PDF) from any browser.
pub fn report_html(p: &Paper<'_>) -> String {
    let t = p.tally;
    let mut h = p.open("处置报告");
    let _ = write!(
        h,
        "<section><h2>概况</h2><p>历时 {} 分钟；区域（第 {} 版）内住户 {} 户，其中重点户 {} 户，已服务 {} 户，待联系 {} 户。\
附近志愿者 {} 名（区域内 {} 名）：{}。</p>",
        t.minutes_open,
        t.area_version,
        t.households_in_area,
        t.vulnerable.total,
        t.vulnerable.served,
        t.waiting_total,
        t.volunteers.total,
        t.volunteers.inside_area,
        Availability::ALL
            .iter()
            .map(|a| format!("{} {}", a.name_zh(), t.volunteers.by_status.get(a.as_str()).unwrap_or(&0)))
            .collect::<Vec<_>>()
            .join("，")
    );
    let by_care: Vec<(String, Counts)> = t
        .vulnerable
        .by_care
        .iter()
        .rev()
        .map(|(c, m)| {
            let by_status = m.clone();
            let total = m.values().sum();
            let served = ContactStatus::ALL
                .iter()
                .filter(|s| s.served())
                .map(|s| m.get(s.as_str()).unwrap_or(&0))
                .sum();
            (
                p.care(*c),
                Counts {
                    total,
                    served,
                    by_status,
                    by_care: BTreeMap::new(),
                },
            )
        })
        .collect();
    let refs: Vec<(String, &Counts)> = by_care.iter().map(|(n, c)| (n.clone(), c)).collect();
    counts_table(&mut h, "户类别", &refs);
    h.push_str("</section><section><h2>分网格</h2>");
    counts_table(&mut h, "网格", &group_rows(&t.by_grid));
    h.push_str("</section><section><h2>分社区</h2>");
    counts_table(&mut h, "社区", &group_rows(&t.by_community));
    h.push_str("</section><section><h2>危险区域</h2><table><tr><th>版本</th><th>时间</th><th>绘制人</th></tr>");
    for a in &p.incident.areas {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            a.version,
            p.at(&a.at),
            esc(&a.by)
        );
    }
    h.push_str("</table></section><section><h2>时间线</h2><table><tr><th>时间</th><th>人员</th><th>事项</th><th>说明</th></tr>");
    for e in p.timeline {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.at(&e.at),
            esc(&e.actor),
            what_zh(&e.what),
            esc(&e.detail)
        );
    }
    h.push_str("</table></section><section><h2>住户状态（按时间）</h2><table><tr><th>时间</th><th>户类别</th><th>网格</th>\
<th>户主</th><th>地址</th><th>状态</th><th>标记人</th><th>备注</th></tr>");
    for (m, x) in p.marked {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.at(&m.at),
            esc(&x.care_name),
            esc(x.grid.as_deref().unwrap_or("-")),
            esc(x.head_name.as_deref().unwrap_or("-")),
            esc(x.address.as_deref().unwrap_or("-")),
            m.status.name_zh(),
            esc(&m.by),
            esc(&m.note)
        );
    }
    h.push_str("</table></section></body></html>");
    h
}

/// A timeline code in Chinese.
fn what_zh(what: &str) -> &str {
    match what {
        "opened" => "开启事件",
        "area_redrawn" => "重绘区域",
        "note" => "备注",
        "closed" => "结束事件",
        "household_marked" => "标记住户",
        "dispatched" => "派遣志愿者",
        other => other,
    }
}

/// The report as a workbook: 概况 (figures), 网格, 社区, 时间线 and 住户状态.
pub fn report_xlsx(p: &Paper<'_>) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let t = p.tally;
    let i = p.incident;
    let figures = vec![
        vec!["事件".into(), i.title.clone()],
        vec!["类型".into(), i.kind.name_zh().into()],
        vec!["开始".into(), p.at(&i.opened_at)],
        vec![
            "结束".into(),
            i.closed_at.as_deref().map(|c| p.at(c)).unwrap_or_default(),
        ],
        vec!["历时(分钟)".into(), t.minutes_open.to_string()],
        vec!["区域内住户".into(), t.households_in_area.to_string()],
        vec!["重点户".into(), t.vulnerable.total.to_string()],
        vec!["已服务".into(), t.vulnerable.served.to_string()],
        vec!["待联系".into(), t.waiting_total.to_string()],
        vec!["附近志愿者".into(), t.volunteers.total.to_string()],
    ];
    let counts = |gs: &[Group]| -> Vec<Vec<String>> {
        gs.iter()
            .map(|g| {
                let mut row = vec![
                    g.code.clone(),
                    g.name.clone(),
                    g.counts.total.to_string(),
                    g.counts.served.to_string(),
                ];
                row.extend(
                    ContactStatus::ALL
                        .iter()
                        .map(|s| g.counts.by_status.get(s.as_str()).unwrap_or(&0).to_string()),
                );
                row
            })
            .collect()
    };
    let mut group_header = vec!["编码", "名称", "重点户", "已服务"];
    group_header.extend(ContactStatus::ALL.iter().map(|s| s.name_zh()));
    let timeline = p
        .timeline
        .iter()
        .map(|e| {
            vec![
                p.at(&e.at),
                e.actor.clone(),
                what_zh(&e.what).to_string(),
                e.detail.clone(),
            ]
        })
        .collect();
    let marked = p
        .marked
        .iter()
        .map(|(m, x)| {
            vec![
                p.at(&m.at),
                x.id.to_string(),
                x.care_name.clone(),
                x.grid.clone().unwrap_or_default(),
                x.head_name.clone().unwrap_or_default(),
                x.address.clone().unwrap_or_default(),
                m.status.name_zh().to_string(),
                m.by.clone(),
                m.note.clone(),
            ]
        })
        .collect();
    crate::io::xlsx::workbook(&[
        ("概况", &["项目", "数值"], figures),
        ("网格", &group_header, counts(&t.by_grid)),
        ("社区", &group_header, counts(&t.by_community)),
        ("时间线", &["时间", "人员", "事项", "说明"], timeline),
        (
            "住户状态",
            &[
                "时间",
                "住户编号",
                "户类别",
                "网格",
                "户主",
                "地址",
                "状态",
                "标记人",
                "备注",
            ],
            marked,
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_local_to_the_minute() {
        let east8 = time::macros::offset!(+8);
        assert_eq!(
            local("2026-07-01T17:34:56.987654321Z", east8),
            "2026-07-02 01:34"
        );
        assert_eq!(
            local("2026-07-01T17:34:00Z", UtcOffset::UTC),
            "2026-07-01 17:34"
        );
        assert_eq!(local("not a time", east8), "not a time");
        assert_eq!(zone(east8), "UTC+08:00");
        assert_eq!(zone(time::macros::offset!(-3:30)), "UTC-03:30");
    }
}
