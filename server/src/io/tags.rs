//! What a feature's tags say beyond its class: whether a line runs under
//! or over the street ([`grade`]) and what a building is used for
//! ([`building_kind`]). OSM tags (`tunnel`, `layer`, `location`, `bridge`,
//! `amenity`, `shop`, ...) and Tilezen properties (`is_tunnel`,
//! `is_bridge`, `kind_detail`, `landuse_kind`) are both understood.

use crate::domain::{BuildingUse, Grade};

/// A feature's tags or properties, by key.
pub trait Tags {
    fn tag(&self, key: &str) -> Option<&str>;
}

impl Tags for [(String, String)] {
    fn tag(&self, key: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

impl Tags for std::collections::BTreeMap<String, String> {
    fn tag(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

fn yes(v: Option<&str>) -> bool {
    v.is_some_and(|v| !matches!(v.trim(), "" | "no" | "false" | "0"))
}

/// Where a road or railway runs. Underground: `tunnel=*` (but `no`, and
/// `building_passage`, a street-level passage under a building), a
/// negative `layer`, `location=underground`, `underground=yes`, Tilezen
/// `is_tunnel`. Over: `bridge=*` (but `no`), Tilezen `is_bridge`. A
/// positive `layer` or `covered=yes` alone keeps a line at street level
/// (layers order drawing; a covered street is still a street).
pub fn grade(t: &(impl Tags + ?Sized)) -> Grade {
    let tunnel = t
        .tag("tunnel")
        .is_some_and(|v| yes(Some(v)) && v != "building_passage");
    let layer: Option<i32> = t.tag("layer").and_then(|l| l.trim().parse().ok());
    if tunnel
        || yes(t.tag("is_tunnel"))
        || layer.is_some_and(|l| l < 0)
        || matches!(t.tag("location"), Some("underground"))
        || yes(t.tag("underground"))
    {
        Grade::Tunnel
    } else if yes(t.tag("bridge")) || yes(t.tag("is_bridge")) {
        Grade::Bridge
    } else {
        Grade::Surface
    }
}

/// Tags whose value names a building's use when set on the building.
const USE_KEYS: [&str; 6] = [
    "amenity",
    "tourism",
    "healthcare",
    "leisure",
    "office",
    "shop",
];

/// The OSM-style kind to keep for a building: its `building` value (Tilezen
/// `kind_detail`) when that says more than `yes`, else what its use tags
/// (`amenity`, `shop`, `office`, ...) say, else its name
/// ([`BuildingUse::kind_of_name`]), else a non-residential land use it
/// stands in (Tilezen `landuse_kind`, or `landuse` as found by the
/// reader), else `yes`. A home that also carries a shop or an office is
/// `mixed`.
pub fn building_kind(
    t: &(impl Tags + ?Sized),
    building: Option<&str>,
    name: Option<&str>,
) -> String {
    let building = building.map_or("yes", str::trim);
    let used_as = USE_KEYS.iter().find_map(|&k| {
        let v = t.tag(k)?.trim();
        (!v.is_empty() && v != "no").then(|| match k {
            "shop" => "retail",
            "office" => "office",
            "healthcare" if v == "yes" => "clinic",
            _ => v,
        })
    });
    let said = BuildingUse::of_kind(building);
    if said != BuildingUse::Unknown {
        if said == BuildingUse::Residential
            && used_as.is_some_and(|k| {
                matches!(
                    BuildingUse::of_kind(k),
                    BuildingUse::Commercial | BuildingUse::Office
                )
            })
        {
            return "mixed".into();
        }
        return building.to_string();
    }
    if let Some(k) = used_as {
        return k.to_string();
    }
    if let Some(k) = name.and_then(BuildingUse::kind_of_name) {
        return k.to_string();
    }
    let land = t.tag("landuse_kind").or_else(|| t.tag("landuse"));
    if let Some(l) = land.filter(|l| land_says(l)) {
        return l.to_string();
    }
    building.to_string()
}

/// True for land uses that say the buildings on them hold no homes
/// (campus, hospital, commerce, industry, sights, parks). Residential
/// land says nothing new: an untyped building there stays untyped.
pub fn land_says(landuse: &str) -> bool {
    matches!(
        landuse,
        "university"
            | "college"
            | "school"
            | "kindergarten"
            | "education"
            | "hospital"
            | "commercial"
            | "retail"
            | "industrial"
            | "railway"
            | "military"
            | "attraction"
            | "garden"
            | "park"
            | "zoo"
            | "cemetery"
            | "place_of_worship"
            | "religious"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }

    fn grade_of(kv: &[(&str, &str)]) -> Grade {
        grade(tags(kv).as_slice())
    }

    #[test]
    fn tunnels_bridges_and_street_level_from_real_tag_combinations() {
        // The Yan'an Road tunnel under the Huangpu: tunnel=yes + layer=-1.
        assert_eq!(
            grade_of(&[("highway", "primary"), ("tunnel", "yes"), ("layer", "-1")]),
            Grade::Tunnel
        );
        // Metro line 2: railway=subway + tunnel=yes + layer=-2.
        assert_eq!(
            grade_of(&[("railway", "subway"), ("tunnel", "yes"), ("layer", "-2")]),
            Grade::Tunnel
        );
        // An underpass drawn with a layer only.
        assert_eq!(
            grade_of(&[("highway", "footway"), ("layer", "-2")]),
            Grade::Tunnel
        );
        assert_eq!(
            grade_of(&[("highway", "footway"), ("location", "underground")]),
            Grade::Tunnel
        );
        assert_eq!(
            grade_of(&[("railway", "subway"), ("underground", "yes")]),
            Grade::Tunnel
        );
        assert_eq!(
            grade_of(&[("highway", "service"), ("tunnel", "culvert")]),
            Grade::Tunnel
        );
        // Garden Bridge over Suzhou Creek: bridge=yes + layer=1.
        assert_eq!(
            grade_of(&[("highway", "secondary"), ("bridge", "yes"), ("layer", "1")]),
            Grade::Bridge
        );
        assert_eq!(
            grade_of(&[("highway", "primary"), ("bridge", "viaduct")]),
            Grade::Bridge
        );
        // A covered street, a passage under a building, a drawing layer,
        // an explicit no: all at street level.
        assert_eq!(
            grade_of(&[("highway", "footway"), ("covered", "yes")]),
            Grade::Surface
        );
        assert_eq!(
            grade_of(&[("highway", "service"), ("tunnel", "building_passage")]),
            Grade::Surface
        );
        assert_eq!(
            grade_of(&[("highway", "primary"), ("layer", "1")]),
            Grade::Surface
        );
        assert_eq!(
            grade_of(&[("highway", "primary"), ("tunnel", "no"), ("bridge", "no")]),
            Grade::Surface
        );
        // Tilezen's properties, as text.
        assert_eq!(
            grade_of(&[("kind", "major_road"), ("is_tunnel", "true")]),
            Grade::Tunnel
        );
        assert_eq!(
            grade_of(&[("kind", "rail"), ("is_bridge", "true")]),
            Grade::Bridge
        );
        assert_eq!(
            grade_of(&[("kind", "rail"), ("is_bridge", "false")]),
            Grade::Surface
        );
    }

    fn kind_of(kv: &[(&str, &str)]) -> BuildingUse {
        let t = tags(kv);
        let b = t.as_slice().tag("building");
        let n = t.as_slice().tag("name");
        BuildingUse::of_kind(&building_kind(t.as_slice(), b, n))
    }

    #[test]
    fn building_use_from_real_tag_combinations() {
        use BuildingUse::*;
        assert_eq!(kind_of(&[("building", "university")]), Education);
        assert_eq!(
            kind_of(&[("building", "yes"), ("amenity", "library")]),
            Civic
        );
        assert_eq!(
            kind_of(&[("building", "yes"), ("name", "同济大学图书馆")]),
            Civic
        );
        assert_eq!(
            kind_of(&[("building", "yes"), ("name", "第三教学楼")]),
            Education
        );
        assert_eq!(kind_of(&[("building", "apartments")]), Residential);
        // The tag wins over a name, and names of homes say homes.
        assert_eq!(
            kind_of(&[("building", "residential"), ("name", "某某小区3号楼")]),
            Residential
        );
        assert_eq!(
            kind_of(&[("building", "residential"), ("name", "某某大厦")]),
            Residential
        );
        assert_eq!(
            kind_of(&[("building", "yes"), ("name", "梅园新村12号")]),
            Residential
        );
        assert_eq!(
            kind_of(&[("building", "yes"), ("shop", "mall")]),
            Commercial
        );
        assert_eq!(
            kind_of(&[("building", "yes"), ("office", "company")]),
            Office
        );
        assert_eq!(
            kind_of(&[("building", "apartments"), ("shop", "convenience")]),
            Mixed
        );
        assert_eq!(kind_of(&[("building", "yes")]), Unknown);
        // Tilezen: kind_detail is the building value, landuse_kind the land.
        assert_eq!(
            kind_of(&[("building", "building"), ("landuse_kind", "university")]),
            Education
        );
        assert_eq!(
            kind_of(&[("building", "building"), ("landuse_kind", "garden")]),
            Civic
        );
        assert_eq!(
            kind_of(&[("building", "building"), ("landuse_kind", "residential")]),
            Unknown
        );
        assert_eq!(
            kind_of(&[("building", "hotel"), ("landuse_kind", "residential")]),
            Commercial
        );
    }
}
