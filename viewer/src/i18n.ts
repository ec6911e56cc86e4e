// Every string the viewer shows, in Simplified Chinese (default) and English.
// Elements carry `data-i18n="key"` (text) or `data-i18n-placeholder` /
// `data-i18n-title`; code calls `t(key)`. `setLang` re-applies the table to
// the whole document and notifies listeners (legend, mode panels, map).

export type Lang = 'zh' | 'en';

const table = {
  'app.subtitle': { zh: '网格化服务管理', en: 'Grid-based community governance' },
  'mode.plan': { zh: '规划', en: 'Plan' },
  'mode.coverage': { zh: '覆盖', en: 'Coverage' },
  'mode.emergency': { zh: '应急', en: 'Emergency' },
  'mode.plan.title': { zh: '网格规划', en: 'Grid planning' },
  'mode.plan.body': {
    zh: '生成三级网格方案并在地图上调整边界。方案接口上线后，此处显示各级网格、户数均衡与编辑工具。',
    en: 'Generate a three-level grid plan and adjust its boundaries on the map. Grid levels, household balance and editing tools appear here once the plan API is available.',
  },
  'mode.coverage.title': { zh: '覆盖分析', en: 'Coverage analysis' },
  'mode.coverage.body': {
    zh: '查看未覆盖区域、无人员网格、超负荷网格与无人照护的重点户。覆盖接口上线后在此显示。',
    en: 'Land in no grid, grids without staff, overloaded grids and vulnerable households out of reach. Shown here once the coverage API is available.',
  },
  'mode.emergency.title': { zh: '应急调度', en: 'Emergency dispatch' },
  'mode.emergency.body': {
    zh: '在地图上选点或圈定危险区域，查找最近的应急预备队志愿者并生成调度清单。应急接口上线后可用。',
    en: 'Pick a point or draw a hazard area to find the nearest reserve volunteers and a dispatch list. Available once the emergency API is.',
  },
  'mode.pending': { zh: '接口待上线', en: 'API pending' },
  'regions.title': { zh: '行政区域', en: 'Regions' },
  'regions.empty': { zh: '暂无区域数据', en: 'No regions' },
  'regions.loading': { zh: '正在加载…', en: 'Loading…' },
  'regions.error': { zh: '区域加载失败', en: 'Could not load regions' },
  'regions.households': { zh: '户', en: 'households' },
  'regions.people': { zh: '人', en: 'people' },
  'regions.grids': { zh: '网格', en: 'grids' },
  'figures.all': { zh: '全部区域', en: 'All regions' },
  'figures.households': { zh: '户数', en: 'Households' },
  'figures.people': { zh: '人员', en: 'People' },
  'figures.atoms': { zh: '基础单元', en: 'Atoms' },
  'figures.grids': { zh: '网格', en: 'Grids' },
  'search.placeholder': { zh: '搜索网格编码、区划代码、名称或地址', en: 'Search grid code, region code, name or address' },
  'search.count': { zh: '（{n} 户）', en: '({n} households)' },
  'search.none': { zh: '无匹配结果', en: 'No matches' },
  'search.region': { zh: '区域', en: 'Region' },
  'search.grid': { zh: '网格', en: 'Grid' },
  'search.household': { zh: '住户', en: 'Household' },
  'layers.title': { zh: '图层', en: 'Layers' },
  'layer.regions': { zh: '行政区域', en: 'Regions' },
  'layer.grids': { zh: '网格', en: 'Grids' },
  'layer.atoms': { zh: '基础单元', en: 'Atoms' },
  'layer.roads': { zh: '道路', en: 'Roads' },
  'layer.water': { zh: '水系', en: 'Water' },
  'layer.buildings': { zh: '建筑', en: 'Buildings' },
  'layer.households': { zh: '住户', en: 'Households' },
  'layer.minzoom': { zh: '放大至 {z} 级显示', en: 'Visible from zoom {z}' },
  'legend.title': { zh: '图例', en: 'Legend' },
  'legend.grid.1': { zh: '一级网格', en: 'Level-1 grid' },
  'legend.grid.2': { zh: '二级网格', en: 'Level-2 grid' },
  'legend.grid.3': { zh: '三级网格', en: 'Level-3 grid' },
  'legend.careLevel': { zh: '照护等级', en: 'Care level' },
  'legend.householdCells': { zh: '住户密度（按格计数）', en: 'Household density (per cell)' },
  'legend.care.1': { zh: '放心户', en: 'Reassured' },
  'legend.care.2': { zh: '关心户', en: 'Attention' },
  'legend.care.3': { zh: '连心户', en: 'Close care' },
  'status.ready': { zh: '就绪', en: 'Ready' },
  'status.loading': { zh: '正在加载 {layer}…', en: 'Loading {layer}…' },
  'status.truncated': { zh: '{layer}：显示 {shown} / {total}，请放大查看全部', en: '{layer}: showing {shown} of {total}; zoom in to see all' },
  'status.error': { zh: '{layer} 加载失败：{message}', en: '{layer} failed to load: {message}' },
  'status.zoom': { zh: '级别 {z}', en: 'Zoom {z}' },
  'popup.code': { zh: '编码', en: 'Code' },
  'popup.name': { zh: '名称', en: 'Name' },
  'nav.zoomIn': { zh: '放大', en: 'Zoom in' },
  'nav.zoomOut': { zh: '缩小', en: 'Zoom out' },
  'nav.resetBearing': { zh: '指北', en: 'Reset bearing to north' },
  'login.title': { zh: '登录', en: 'Sign in' },
  'login.name': { zh: '用户名', en: 'User name' },
  'login.password': { zh: '密码', en: 'Password' },
  'login.submit': { zh: '登录', en: 'Sign in' },
  'login.signOut': { zh: '退出', en: 'Sign out' },
  'login.wrong': { zh: '用户名或密码错误', en: 'Wrong user name or password' },
  'login.throttled': { zh: '登录失败次数过多，请 {seconds} 秒后再试', en: 'Too many failed sign-ins; try again in {seconds} s' },
  'login.missing': { zh: '请输入用户名和密码', en: 'Enter your user name and password' },
  'login.unreachable': { zh: '无法连接服务器：{detail}', en: 'Cannot reach the server: {detail}' },
  'login.public': { zh: '公开地图', en: 'Public map' },
  'em.hint': { zh: '点击地图查找最近的 10 名志愿者；或圈定危险区域统计受影响住户并生成调度方案。', en: 'Click the map for the 10 nearest volunteers, or draw a hazard area to count the households in it and make a dispatch plan.' },
  'em.skills': { zh: '技能要求', en: 'Skills' },
  'em.skill.急救': { zh: '急救', en: 'First aid' },
  'em.skill.水上救援': { zh: '水上救援', en: 'Water rescue' },
  'em.skill.驾驶': { zh: '驾驶', en: 'Driving' },
  'em.skill.医护': { zh: '医护', en: 'Nursing' },
  'em.skill.心理疏导': { zh: '心理疏导', en: 'Counselling' },
  'em.skill.电工': { zh: '电工', en: 'Electrician' },
  'em.skill.搬运': { zh: '搬运', en: 'Carrying' },
  'em.by': { zh: '距离', en: 'Distance' },
  'em.by.road': { zh: '按道路', en: 'By road' },
  'em.by.line': { zh: '直线', en: 'Straight line' },
  'em.nearest.title': { zh: '最近志愿者', en: 'Nearest volunteers' },
  'em.nearest.none': { zh: '附近没有符合条件的志愿者', en: 'No matching volunteer nearby' },
  'em.nearest.fallback': { zh: '沿道路无法到达，改按直线距离显示', en: 'Not reachable along the roads; straight-line distances shown' },
  'em.nearest.at': { zh: '地点 {lat}, {lon}', en: 'At {lat}, {lon}' },
  'em.walk': { zh: '步行 {m} · {min} 分钟', en: 'Walk {m} · {min} min' },
  'em.line': { zh: '直线 {m}', en: 'Straight {m}' },
  'em.loading': { zh: '正在查询…', en: 'Querying…' },
  'em.draw': { zh: '圈定危险区域', en: 'Draw hazard area' },
  'em.drawing': { zh: '在地图上逐点点击，点回第一个点或双击结束', en: 'Click the corners on the map; click the first one again or double-click to finish' },
  'em.clear': { zh: '清除', en: 'Clear' },
  'em.area.title': { zh: '危险区域', en: 'Hazard area' },
  'em.area.total': { zh: '区域内住户', en: 'Households in area' },
  'em.care.0': { zh: '放心户', en: 'Reassured' },
  'em.care.1': { zh: '关心户', en: 'Attention' },
  'em.care.2': { zh: '连心户', en: 'Close care' },
  'em.area.vulnerable': { zh: '重点户（{n}）', en: 'Vulnerable households ({n})' },
  'em.area.grids': { zh: '涉及网格（{n}）', en: 'Grids touched ({n})' },
  'em.area.volunteers': { zh: '附近志愿者（{n}）', en: 'Volunteers nearby ({n})' },
  'em.area.more': { zh: '另有 {n} 条', en: '{n} more' },
  'em.plan.capacity': { zh: '每人走访户数', en: 'Households per volunteer' },
  'em.plan.maxDistance': { zh: '最远距离（米）', en: 'Max distance (m)' },
  'em.plan.make': { zh: '生成调度方案', en: 'Make dispatch plan' },
  'em.plan.title': { zh: '调度方案', en: 'Dispatch plan' },
  'em.plan.summary': { zh: '重点户 {households} 户，已派 {served} 户，未派 {unserved} 户；志愿者 {routes} 人，总路程 {travel}', en: '{households} households, {served} served, {unserved} unserved; {routes} volunteers, {travel} in total' },
  'em.plan.household': { zh: '住户', en: 'Household' },
  'em.plan.distance': { zh: '距离', en: 'Distance' },
  'em.plan.unserved': { zh: '未派住户（{n}）', en: 'Unserved ({n})' },
  'em.plan.print': { zh: '打印调度单', en: 'Print dispatch sheet' },
  'em.plan.csv': { zh: '导出CSV', en: 'Export CSV' },
  'em.plan.needArea': { zh: '请先圈定危险区域', en: 'Draw a hazard area first' },
  'em.error': { zh: '请求失败：{detail}', en: 'Request failed: {detail}' },
  'em.legend.line': { zh: '志愿者连线', en: 'Volunteer links' },
  'em.legend.volunteer': { zh: '志愿者', en: 'Volunteer' },
  'em.legend.area': { zh: '危险区域', en: 'Hazard area' },
  'em.legend.plan': { zh: '调度路线', en: 'Dispatch links' },
  'em.legend.unserved': { zh: '未派住户', en: 'Unserved household' },
  'em.m': { zh: '{m} 米', en: '{m} m' },
  'em.km': { zh: '{km} 公里', en: '{km} km' },
  'plan.region': { zh: '区域', en: 'Region' },
  'plan.noAccess': { zh: '查看和生成网格方案需要规划员、街道办或管理员账号。地图上显示当前网格。', en: 'Plans need a planner, street office or administrator account. The map shows the current grids.' },
  'plan.generate.title': { zh: '生成方案', en: 'Generate a plan' },
  'plan.seed': { zh: '随机种子', en: 'Seed' },
  'plan.message': { zh: '说明', en: 'Message' },
  'plan.message.placeholder': { zh: '例如：按新道路调整', en: 'e.g. follow the new road' },
  'plan.locks': { zh: '锁定网格（可选）', en: 'Locked grids (optional)' },
  'plan.locks.placeholder': { zh: '网格编码，用逗号分隔', en: 'Grid codes, comma separated' },
  'plan.generate': { zh: '生成方案', en: 'Generate plan' },
  'plan.job.running': { zh: '正在生成：{done} / {total} 个区域', en: 'Generating: {done} of {total} regions' },
  'plan.job.done': { zh: '已生成 {n} 个方案', en: '{n} plans made' },
  'plan.job.failed': { zh: '生成失败：{error}', en: 'Generation failed: {error}' },
  'plan.level': { zh: '显示层级', en: 'Level shown' },
  'plan.level.1': { zh: '一级', en: 'Level 1' },
  'plan.level.2': { zh: '二级', en: 'Level 2' },
  'plan.level.3': { zh: '三级', en: 'Level 3' },
  'plan.tree': { zh: '网格层级', en: 'Grid hierarchy' },
  'plan.none': { zh: '该区域暂无网格方案，可在上方生成。', en: 'No plan for this region yet; generate one above.' },
  'plan.loading': { zh: '正在加载方案…', en: 'Loading the plan…' },
  'plan.error': { zh: '请求失败：{detail}', en: 'Request failed: {detail}' },
  'plan.hh': { zh: '{n} 户', en: '{n} hh' },
  'plan.grid.title': { zh: '网格 {code}', en: 'Grid {code}' },
  'plan.grid.level': { zh: '层级', en: 'Level' },
  'plan.grid.parent': { zh: '上级网格', en: 'Parent grid' },
  'plan.grid.households': { zh: '住户', en: 'Households' },
  'plan.grid.staff': { zh: '人员', en: 'Staff' },
  'plan.grid.staff.none': { zh: '暂无人员', en: 'No staff' },
  'plan.grid.staff.na': { zh: '该方案尚未启用，无人员数据', en: 'This plan is not in use: no staff figures' },
  'plan.grid.workers': { zh: '网格员', en: 'Grid workers' },
  'plan.grid.leaders': { zh: '网格长', en: 'Grid leaders' },
  'plan.grid.fullTime': { zh: '专职网格员', en: 'Full-time workers' },
  'plan.grid.metrics': { zh: '指标', en: 'Metrics' },
  'plan.m.deviation': { zh: '户数偏差', en: 'Deviation' },
  'plan.m.pp': { zh: 'Polsby-Popper 紧凑度', en: 'Polsby-Popper' },
  'plan.m.reock': { zh: 'Reock 紧凑度', en: 'Reock' },
  'plan.m.road': { zh: '沿路边界比例', en: 'Road share' },
  'plan.m.area': { zh: '面积', en: 'Area' },
  'plan.m.pieces': { zh: '连通块', en: 'Pieces' },
  'plan.balance.under': { zh: '户数偏少', en: 'Under range' },
  'plan.balance.ok': { zh: '户数达标', en: 'In range' },
  'plan.balance.over': { zh: '户数偏多', en: 'Over range' },
  'plan.metrics': { zh: '方案指标', en: 'Plan metrics' },
  'plan.metrics.level': { zh: '层级', en: 'Level' },
  'plan.metrics.grids': { zh: '网格数', en: 'Grids' },
  'plan.metrics.hh': { zh: '户数范围', en: 'Households' },
  'plan.metrics.inRange': { zh: '达标率', en: 'In range' },
  'plan.metrics.maxDev': { zh: '最大偏差', en: 'Max dev.' },
  'plan.metrics.pp': { zh: 'PP', en: 'PP' },
  'plan.metrics.reock': { zh: 'Reock', en: 'Reock' },
  'plan.metrics.road': { zh: '沿路', en: 'Road' },
  'plan.metrics.csv': { zh: '导出指标CSV', en: 'Metrics CSV' },
  'plan.versions': { zh: '方案版本', en: 'Plan versions' },
  'plan.version': { zh: '第 {n} 版', en: 'Version {n}' },
  'plan.version.current': { zh: '当前显示', en: 'shown' },
  'plan.legend.selected': { zh: '选中网格', en: 'Selected grid' },
  'plan.legend.locked': { zh: '锁定网格', en: 'Locked grid' },
  'plan.legend.seed': { zh: '种子点', en: 'Seed point' },
  'plan.locks.hint': { zh: '也可在地图上选中网格后点“锁定”。', en: 'Or select a grid on the map and press “Lock”.' },
  'plan.lock.off': { zh: '锁定此网格', en: 'Lock this grid' },
  'plan.lock.on': { zh: '已锁定（点击解锁）', en: 'Locked (click to unlock)' },
  'plan.barriers': { zh: '不可跨越的线', en: 'Lines no grid may cross' },
  'plan.barrier.major': { zh: '主干道', en: 'Major roads' },
  'plan.barrier.minor': { zh: '次干道', en: 'Minor roads' },
  'plan.barrier.path': { zh: '小路', en: 'Paths' },
  'plan.barrier.river': { zh: '河流', en: 'Rivers' },
  'plan.barrier.railway': { zh: '铁路', en: 'Railways' },
  'plan.seeds': { zh: '种子点（每点一个一级网格）', en: 'Seed points (one level-1 grid each)' },
  'plan.seeds.pick': { zh: '在地图上选点', en: 'Pick on map' },
  'plan.seeds.picking': { zh: '选点中（Esc 结束）', en: 'Picking (Esc to stop)' },
  'plan.seeds.hint': { zh: '点击地图添加种子点。', en: 'Click the map to add seed points.' },
  'plan.seeds.none': { zh: '未选种子点：自动布设。', en: 'No seed points: placed automatically.' },
  'plan.seeds.clear': { zh: '清空', en: 'Clear' },
  'plan.seeds.remove': { zh: '删除第 {n} 个点', en: 'Remove point {n}' },
  'plan.invalid': { zh: '参数有误：{detail}', en: 'Invalid input: {detail}' },
  'cov.noAccess': { zh: '覆盖分析需要街道办、规划员或管理员账号。', en: 'Coverage needs a street office, planner or administrator account.' },
  'cov.pick': { zh: '请在下方区域列表中选择区域。', en: 'Pick a region in the list below.' },
  'cov.loading': { zh: '正在分析覆盖情况…', en: 'Analysing coverage…' },
  'cov.rollup': { zh: '覆盖概况', en: 'Coverage summary' },
  'cov.land': { zh: '土地入格率', en: 'Land in grids' },
  'cov.staffed': { zh: '网格配员率', en: 'Grids staffed' },
  'cov.reached': { zh: '重点户照护率', en: 'Vulnerable reached' },
  'cov.reachedRoad': { zh: '沿路可达率', en: 'Reached by road' },
  'cov.households': { zh: '住户', en: 'Households' },
  'cov.vulnerable': { zh: '重点户', en: 'Vulnerable' },
  'cov.grids': { zh: '网格', en: 'Grids' },
  'cov.children': { zh: '下级区域', en: 'Sub-regions' },
  'cov.gaps': { zh: '问题清单（{n}）', en: 'Findings ({n})' },
  'cov.gaps.none': { zh: '未发现覆盖问题', en: 'No gaps found' },
  'cov.more': { zh: '另有 {n} 条', en: '{n} more' },
  'cov.severity.high': { zh: '高', en: 'High' },
  'cov.severity.medium': { zh: '中', en: 'Medium' },
  'cov.severity.low': { zh: '低', en: 'Low' },
  'cov.area': { zh: '{m} 平方米', en: '{m} m²' },
  'cov.hh': { zh: '{n} 户', en: '{n} households' },
  'cov.vul': { zh: '重点户 {n}', en: '{n} vulnerable' },
  'cov.suggest': { zh: '建议增设照护点（{n}）', en: 'Suggested carer sites ({n})' },
  'cov.suggest.gain': { zh: '第 {rank} 处 · 可新覆盖 {gain} 户重点户', en: '#{rank} · reaches {gain} more vulnerable households' },
  'cov.export.csv': { zh: '导出CSV', en: 'Export CSV' },
  'cov.export.xlsx': { zh: '导出Excel', en: 'Export Excel' },
  'cov.kind.gap': { zh: '未覆盖区域', en: 'Land in no grid' },
  'cov.kind.sliver': { zh: '细碎缝隙', en: 'Sliver' },
  'cov.kind.overlap': { zh: '网格重叠', en: 'Overlap' },
  'cov.kind.outside': { zh: '超出辖区', en: 'Outside its region' },
  'cov.kind.nesting': { zh: '跨越上级网格', en: 'Across its parent' },
  'cov.kind.no_grid': { zh: '未入格住户', en: 'Household in no grid' },
  'cov.kind.several_grids': { zh: '重复入格住户', en: 'Household in several grids' },
  'cov.kind.unstaffed': { zh: '缺网格员', en: 'Unstaffed grid' },
  'cov.kind.no_leader': { zh: '缺网格长', en: 'No grid leader' },
  'cov.kind.overloaded': { zh: '超负荷网格', en: 'Overloaded grid' },
  'cov.kind.overstretched': { zh: '兼管网格过多', en: 'On too many grids' },
  'cov.kind.unreached': { zh: '未覆盖重点户', en: 'Unreached vulnerable household' },
  'cov.kind.unreached_cell': { zh: '重点户盲区', en: 'Unreached vulnerable area' },
  'cov.legend.suggest': { zh: '建议照护点', en: 'Suggested carer site' },
  'role.admin': { zh: '管理员', en: 'Administrator' },
  'role.planner': { zh: '规划员', en: 'Planner' },
  'role.office': { zh: '街道办', en: 'Street office' },
  'role.emergency': { zh: '应急', en: 'Emergency' },
  'role.viewer': { zh: '浏览', en: 'Viewer' },
} satisfies Record<string, Record<Lang, string>>;

export type Key = keyof typeof table;

let current: Lang = 'zh';
const listeners: Array<(lang: Lang) => void> = [];

export function lang(): Lang {
  return current;
}

/** Looks a key up in the current language and fills `{name}` placeholders. */
export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const s = table[key][current];
  return s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k] ?? `{${k}}`));
}

export function isKey(key: string): key is Key {
  return key in table;
}

/** Re-applies the table to every marked element under `root`. */
export function applyI18n(root: ParentNode = document): void {
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    const k = el.dataset.i18n!;
    if (isKey(k)) el.textContent = t(k);
  });
  root.querySelectorAll<HTMLInputElement>('[data-i18n-placeholder]').forEach((el) => {
    const k = el.dataset.i18nPlaceholder!;
    if (isKey(k)) el.placeholder = t(k);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-title]').forEach((el) => {
    const k = el.dataset.i18nTitle!;
    if (isKey(k)) el.title = t(k);
  });
}

export function setLang(next: Lang): void {
  current = next;
  document.documentElement.lang = next === 'zh' ? 'zh-CN' : 'en';
  applyI18n();
  for (const f of listeners) f(next);
}

export function onLangChange(f: (lang: Lang) => void): void {
  listeners.push(f);
}

/** The MapLibre UI strings (zoom buttons, scale units) for a language. */
export function maplibreLocale(): Record<string, string> {
  return {
    'NavigationControl.ZoomIn': t('nav.zoomIn'),
    'NavigationControl.ZoomOut': t('nav.zoomOut'),
    'NavigationControl.ResetBearing': t('nav.resetBearing'),
  };
}
