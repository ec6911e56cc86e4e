//! Chinese names for generated streets, roads, communities and people,
//! drawn from pools of common place words and surnames.

/// Place words common in Ankang's street and community names.
const PLACES: [&str; 60] = [
    "兴安", "育才", "巴山", "金州", "香溪", "江北", "新城", "东坝", "西关", "大桥", "滨江", "建民",
    "汉江", "长春", "文昌", "五星", "张岭", "白庙", "花园", "果园", "新华", "解放", "友谊", "和平",
    "安康", "富强", "民主", "团结", "光明", "北环", "南环", "东环", "紫阳", "石泉", "岚皋", "旬阳",
    "白河", "平利", "镇坪", "宁陕", "汉阴", "恒口", "关庙", "吉河", "早阳", "牛蹄", "建设", "工农",
    "朝阳", "红星", "前进", "胜利", "老城", "东关", "南门", "北门", "水西", "黄沟", "马坎", "大同",
];

const NUMERALS: [&str; 10] = ["", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

/// The `n`th place name; beyond the pool, numbered ("兴安二").
pub fn place(n: usize) -> String {
    let base = PLACES[n % PLACES.len()];
    let round = n / PLACES.len();
    if round == 0 {
        base.to_string()
    } else if round < NUMERALS.len() {
        format!("{base}{}", NUMERALS[round])
    } else {
        format!("{base}{}", round + 1)
    }
}

/// East-west roads are 路, north-south ones 街.
pub fn road(n: usize, east_west: bool) -> String {
    format!("{}{}", place(n), if east_west { "路" } else { "街" })
}

const SURNAMES: [&str; 24] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "胡", "朱", "郭",
    "何", "罗", "高", "林", "郑", "梁", "谢", "宋",
];
const GIVEN: [&str; 40] = [
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀", "霞", "平", "刚", "桂", "英", "华", "建", "国", "文", "玉", "兰", "红", "春", "海",
    "东", "小", "永", "志", "宏", "晓", "德", "荣",
];

/// A person's name from a random number.
pub fn person(r: u64) -> String {
    let s = SURNAMES[(r % 24) as usize];
    let g1 = GIVEN[((r >> 8) % 40) as usize];
    if (r >> 16) % 3 == 0 {
        format!("{s}{g1}")
    } else {
        format!("{s}{g1}{}", GIVEN[((r >> 24) % 40) as usize])
    }
}

/// A mobile number from a random number.
pub fn phone(r: u64) -> String {
    let prefix = [135, 136, 138, 139, 150, 151, 158, 159, 177, 180, 186, 189][(r % 12) as usize];
    format!("{prefix}{:08}", (r >> 8) % 100_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_well_beyond_the_pool() {
        let names: std::collections::HashSet<String> = (0..1000).map(place).collect();
        assert_eq!(names.len(), 1000);
        assert_eq!(road(0, true), "兴安路");
        assert_eq!(road(60, false), "兴安二街");
        assert_eq!(phone(12345).len(), 11);
    }
}
