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
  'search.placeholder': { zh: '搜索网格编码、区划代码或名称', en: 'Search grid code, region code or name' },
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
