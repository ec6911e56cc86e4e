//! Households from census totals and population cells: each region's census
//! population is spread over the cells whose centre lies in it, in
//! proportion to their floor area, then divided by the average household
//! size. Household sizes within a region are set so that they add up to the
//! census population exactly. When building footprints with their use are
//! at hand, [`without_non_residential`] first takes the floor area of
//! buildings that house nobody out of the cells.

use geo_types::{Coord, MultiPolygon};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

use super::apportion;
use crate::domain::{Building, CareLevel, Household, RegionCode, SensitiveFlags};
use crate::spatial::placement::RegionIndex;

/// A population cell: its polygon, centre and floor area (m²).
#[derive(Debug, Clone)]
pub struct Cell {
    pub polygon: MultiPolygon<f64>,
    pub centre: Coord<f64>,
    pub floor_area: f64,
}

/// A region with its census population.
#[derive(Debug, Clone)]
pub struct Tally {
    pub code: RegionCode,
    pub boundary: MultiPolygon<f64>,
    pub population: u64,
}

/// What the estimate did, for the log and the tests.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    /// Cells whose centre is in no region (sea, outside the area).
    pub cells_outside: usize,
    /// Regions with population but no floor area to put it on.
    pub regions_without_floor_area: Vec<RegionCode>,
}

/// Takes the floor area of the buildings that house nobody (by their use;
/// storeys as [`super::buildings::storeys`]) out of the cell their centroid
/// lies in, so that the census population goes to homes only. Returns
/// what was taken out, by use.
pub fn without_non_residential(
    cells: &mut [Cell],
    buildings: &[Building],
    p: &super::buildings::Params,
) -> super::buildings::Skipped {
    use geo::{Area, BoundingRect, Centroid, Contains};
    use rstar::primitives::{GeomWithData, Rectangle};
    let boxes: Vec<GeomWithData<Rectangle<[f64; 2]>, usize>> = cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let r = c.polygon.bounding_rect()?;
            Some(GeomWithData::new(
                Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i,
            ))
        })
        .collect();
    let tree = rstar::RTree::bulk_load(boxes);
    let mut skipped = super::buildings::Skipped::default();
    for b in buildings {
        if super::buildings::residential_share(b, p) > 0.0 {
            continue;
        }
        let Some(c) = b.geometry.centroid() else {
            continue;
        };
        let floor = crate::spatial::projection::LocalProjection::new(c.0)
            .project(&b.geometry)
            .unsigned_area()
            * f64::from(super::buildings::storeys(b, p));
        *skipped.by_use.entry(b.building_use()).or_default() += 1;
        skipped.floor_m2 += floor;
        let at = rstar::AABB::from_point([c.x(), c.y()]);
        if let Some(cell) = tree
            .locate_in_envelope_intersecting(&at)
            .map(|g| g.data)
            .find(|&i| cells[i].polygon.contains(&c))
        {
            cells[cell].floor_area = (cells[cell].floor_area - floor).max(0.0);
        }
    }
    skipped
}

/// Estimated households, ids from 1.
pub fn estimate(
    regions: &[Tally],
    cells: &[Cell],
    household_size: f64,
    seed: u64,
) -> (Vec<Household>, Summary) {
    let index = RegionIndex::new(
        &regions
            .iter()
            .map(|r| (r.code, r.boundary.clone()))
            .collect::<Vec<_>>(),
    );
    let mut summary = Summary::default();
    let mut by_region: Vec<Vec<usize>> = vec![Vec::new(); regions.len()];
    for (i, c) in cells.iter().enumerate() {
        match index
            .locate(geo_types::Point(c.centre))
            .and_then(|code| regions.iter().position(|r| r.code == code))
        {
            Some(r) => by_region[r].push(i),
            None => summary.cells_outside += 1,
        }
    }
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut out = Vec::new();
    for (r, region) in regions.iter().enumerate() {
        if region.population == 0 {
            continue;
        }
        let weights: Vec<f64> = by_region[r]
            .iter()
            .map(|&i| cells[i].floor_area.max(0.0))
            .collect();
        if weights.iter().sum::<f64>() <= 0.0 {
            summary.regions_without_floor_area.push(region.code);
            continue;
        }
        let households = ((region.population as f64 / household_size).round() as u64)
            .clamp(1, region.population);
        // Sizes: the population split as evenly as integers allow.
        let base = region.population / households;
        let mut bigger = region.population % households;
        for (k, n) in apportion(households, &weights).into_iter().enumerate() {
            let cell = &cells[by_region[r][k]];
            // Sample in the part of the cell inside the region: a coastal
            // cell may be mostly outside, and 64 tries in the whole cell
            // would often miss and pile its households on one point.
            let part = {
                use geo::{BooleanOps, InteriorPoint};
                let p = cell.polygon.intersection(&region.boundary);
                let at = p.interior_point().map_or(cell.centre, |q| q.0);
                (p, at)
            };
            for _ in 0..n {
                let size = base + u64::from(bigger > 0);
                bigger = bigger.saturating_sub(1);
                out.push(Household {
                    id: out.len() as i64 + 1,
                    location: if part.0 .0.is_empty() {
                        super::point_in(
                            &cell.polygon,
                            Some(&region.boundary),
                            cell.centre,
                            &mut rng,
                        )
                    } else {
                        super::point_in(&part.0, None, part.1, &mut rng)
                    },
                    size: size.min(100) as u8,
                    care: CareLevel::REASSURED,
                    flags: SensitiveFlags::default(),
                    building: None,
                    address: String::new(),
                    head_name: String::new(),
                    phone: String::new(),
                    region: Some(region.code),
                    estimated: true,
                });
            }
        }
    }
    (out, summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::Rect;

    fn square(x: f64, y: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![Rect::new(
            Coord { x, y },
            Coord { x: x + s, y: y + s },
        )
        .to_polygon()])
    }

    #[test]
    fn population_follows_floor_area_and_adds_up() {
        let regions = vec![
            Tally {
                code: "820001".parse().unwrap(),
                boundary: square(0.0, 0.0, 2.0),
                population: 1000,
            },
            Tally {
                code: "820002".parse().unwrap(),
                boundary: square(2.0, 0.0, 2.0),
                population: 0,
            },
        ];
        let cells = vec![
            Cell {
                polygon: square(0.0, 0.0, 1.0),
                centre: Coord { x: 0.5, y: 0.5 },
                floor_area: 3000.0,
            },
            Cell {
                polygon: square(1.0, 0.0, 1.0),
                centre: Coord { x: 1.5, y: 0.5 },
                floor_area: 1000.0,
            },
            Cell {
                polygon: square(2.0, 0.0, 1.0),
                centre: Coord { x: 2.5, y: 0.5 },
                floor_area: 5000.0,
            },
            Cell {
                polygon: square(9.0, 9.0, 1.0),
                centre: Coord { x: 9.5, y: 9.5 },
                floor_area: 5000.0,
            },
        ];
        let (hs, summary) = estimate(&regions, &cells, 2.9, 1);
        assert_eq!(summary.cells_outside, 1);
        assert_eq!(hs.len(), 345); // 1000 / 2.9
        assert_eq!(hs.iter().map(|h| u64::from(h.size)).sum::<u64>(), 1000);
        let in_first = hs.iter().filter(|h| h.location.x() < 1.0).count();
        assert!((in_first as f64 / 345.0 - 0.75).abs() < 0.01, "{in_first}");
        assert!(hs
            .iter()
            .all(|h| h.estimated && h.region == Some(regions[0].code)));
    }

    #[test]
    fn floor_area_of_buildings_that_house_nobody_is_taken_out_of_their_cell() {
        use crate::spatial::projection::LocalProjection;
        let proj = LocalProjection::new(Coord { x: 113.55, y: 22.2 });
        // Two 100 m cells; a 6-storey 30 × 20 m college in the first, a
        // block of flats as large in the second.
        let cell = |x0: f64| {
            let r = Rect::new(
                Coord { x: x0, y: 0.0 },
                Coord {
                    x: x0 + 100.0,
                    y: 100.0,
                },
            );
            let polygon = MultiPolygon(vec![proj.unproject(&r.to_polygon())]);
            let centre = geo::Centroid::centroid(&polygon).unwrap().0;
            Cell {
                polygon,
                centre,
                floor_area: 10_000.0,
            }
        };
        let building = |id: i64, x0: f64, kind: &str| Building {
            id,
            levels: Some(6),
            height_m: None,
            kind: kind.into(),
            geometry: MultiPolygon(vec![proj.unproject(
                &Rect::new(
                    Coord { x: x0, y: 40.0 },
                    Coord {
                        x: x0 + 30.0,
                        y: 60.0,
                    },
                )
                .to_polygon(),
            )]),
        };
        let mut cells = vec![cell(0.0), cell(100.0)];
        let bs = [
            building(1, 30.0, "college"),
            building(2, 130.0, "apartments"),
        ];
        let skipped =
            without_non_residential(&mut cells, &bs, &super::super::buildings::Params::default());
        assert_eq!(skipped.buildings(), 1);
        assert!(
            (cells[0].floor_area - 6_400.0).abs() < 10.0,
            "{}",
            cells[0].floor_area
        );
        assert!((cells[1].floor_area - 10_000.0).abs() < 1e-9);
    }
}
