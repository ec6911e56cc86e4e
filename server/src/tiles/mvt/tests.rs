use super::*;
use geo_types::{coord, polygon};

#[test]
fn zigzag_and_commands_follow_the_spec() {
    assert_eq!([zigzag(0), zigzag(-1), zigzag(1), zigzag(-2)], [0, 1, 2, 3]);
    assert_eq!(command(1, 1), 9);
    assert_eq!(command(7, 1), 15);
}

#[test]
fn projection_round_trips_and_tiles_meet() {
    let f = Frame::new(14, 13_400, 6_500).unwrap();
    let c = coord! { x: 114.45, y: 30.1 };
    let back = f.unproject(f.project(c).x, f.project(c).y);
    assert!((back.x - c.x).abs() < 1e-9 && (back.y - c.y).abs() < 1e-9);
    // The east edge of one tile is the west edge of the next.
    let e = Frame::new(14, 13_401, 6_500).unwrap();
    let p = f.unproject(f64::from(EXTENT), 0.0);
    assert!(e.project(p).x.abs() < 1e-6);
    assert!(Frame::new(2, 4, 0).is_none());
}

#[test]
fn a_polygon_larger_than_the_tile_is_clipped_to_the_buffer() {
    let f = Frame::new(0, 0, 0).unwrap();
    let world = polygon![(x: -170.0, y: -80.0), (x: 170.0, y: -80.0), (x: 170.0, y: 80.0), (x: -170.0, y: 80.0)];
    let pts = clip_ring(
        &world
            .exterior()
            .0
            .iter()
            .map(|&c| f.project(c))
            .collect::<Vec<_>>(),
        1000.0,
        1100.0,
    );
    assert!(pts
        .iter()
        .all(|c| (1000.0..=1100.0).contains(&c.x) && (1000.0..=1100.0).contains(&c.y)));
    let q = quantize(&pts, true);
    assert_eq!(area2(&q).abs(), 2 * 100 * 100);
}

#[test]
fn exterior_rings_are_positive_and_holes_negative() {
    let f = Frame::new(0, 0, 0).unwrap();
    // Counter-clockwise in lon/lat, with a clockwise hole.
    let p = polygon!(
        exterior: [(x: 0.0, y: 0.0), (x: 40.0, y: 0.0), (x: 40.0, y: 40.0), (x: 0.0, y: 40.0)],
        interiors: [[(x: 10.0, y: 10.0), (x: 10.0, y: 30.0), (x: 30.0, y: 30.0), (x: 30.0, y: 10.0)]],
    );
    let enc = f.polygons(&MultiPolygon(vec![p])).unwrap();
    let rings = decode_rings(&enc.commands);
    assert_eq!(rings.len(), 2);
    assert!(area2(&rings[0]) > 0, "exterior {:?}", rings[0]);
    assert!(area2(&rings[1]) < 0, "hole {:?}", rings[1]);
}

#[test]
fn lines_leaving_and_coming_back_become_two_parts() {
    let line = [
        coord! { x: 10.0, y: 10.0 },
        coord! { x: 200.0, y: 10.0 },
        coord! { x: 200.0, y: 50.0 },
        coord! { x: 10.0, y: 50.0 },
    ];
    let parts = clip_line(&line, 0.0, 100.0);
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts[0],
        vec![coord! { x: 10.0, y: 10.0 }, coord! { x: 100.0, y: 10.0 }]
    );
    assert_eq!(
        parts[1],
        vec![coord! { x: 100.0, y: 50.0 }, coord! { x: 10.0, y: 50.0 }]
    );
    assert!(clip_line(
        &[coord! { x: 200.0, y: 0.0 }, coord! { x: 300.0, y: 0.0 }],
        0.0,
        100.0
    )
    .is_empty());
}

#[test]
fn points_belong_to_one_tile_and_layers_intern_values() {
    let f = Frame::new(1, 0, 0).unwrap();
    assert!(f.points([coord! { x: 10.0, y: 10.0 }]).is_none());
    let enc = f.points([coord! { x: -90.0, y: 45.0 }]).unwrap();
    let mut l = LayerBuilder::new("households");
    l.add(
        Some(1),
        enc.clone(),
        &[("count", 3u32.into()), ("kind", "a".into())],
    );
    l.add(
        Some(2),
        enc,
        &[("count", 3u32.into()), ("kind", "b".into())],
    );
    let layer = l.finish();
    assert_eq!(layer.keys, vec!["count", "kind"]);
    assert_eq!(layer.values.len(), 3);
    let bytes = encode(vec![layer.clone()]);
    let back = Tile::decode(bytes.as_slice()).unwrap();
    assert_eq!(back.layers, vec![layer]);
    assert!(encode(vec![LayerBuilder::new("empty").finish()]).is_empty());
}

#[test]
fn ranks_keep_what_douglas_peucker_keeps_at_every_tolerance() {
    // A wiggly line with collinear runs: ranking once and filtering
    // must give geo's Douglas–Peucker at each tolerance.
    let pts: Vec<Coord<f64>> = (0..200)
        .map(|i| {
            let x = f64::from(i);
            let y = if i % 25 < 5 {
                0.0
            } else {
                (x * 0.7).sin() * (x * 0.13).cos() * 10.0
            };
            coord! { x: x, y: y }
        })
        .collect();
    let rank = dp_rank(&pts);
    assert!(rank[0].is_infinite() && rank[199].is_infinite());
    for tolerance in [0.05, 0.5, 1.0, 2.5, 7.0, 30.0] {
        let kept: Vec<Coord<f64>> = pts
            .iter()
            .zip(&rank)
            .filter(|(_, &r)| r > tolerance * tolerance)
            .map(|(c, _)| *c)
            .collect();
        let dp = LineString(pts.clone()).simplify(tolerance);
        assert_eq!(kept, dp.0, "tolerance {tolerance}");
    }
    // Collinear points never survive.
    let straight = [
        coord! { x: 0.0, y: 0.0 },
        coord! { x: 1.0, y: 1.0 },
        coord! { x: 2.0, y: 2.0 },
    ];
    assert!(dp_rank(&straight)[1] < 1e-30);
}

#[test]
fn ranked_shapes_cut_like_shapes_projected_per_tile() {
    // A grid-like polygon with a hole, cut into a tile it straddles:
    // the ranked path gives the same rings as projecting per tile.
    let shape = polygon!(
        exterior: [(x: 114.30, y: 30.50), (x: 114.36, y: 30.50), (x: 114.361, y: 30.53), (x: 114.36, y: 30.56), (x: 114.30, y: 30.56)],
        interiors: [[(x: 114.32, y: 30.52), (x: 114.32, y: 30.54), (x: 114.34, y: 30.54), (x: 114.34, y: 30.52)]],
    );
    let mp = MultiPolygon(vec![shape]);
    let ranked = Ranked::new(&mp);
    for (z, lon, lat) in [
        (12u8, 114.33, 30.53),
        (14, 114.36, 30.53),
        (16, 114.32, 30.52),
    ] {
        let side = f64::from(1u32 << z);
        let at = mercator(coord! { x: lon, y: lat });
        let frame = Frame::new(z, (at.x * side) as u32, (at.y * side) as u32).unwrap();
        let per_tile = frame.polygons(&mp).map(|e| decode_rings(&e.commands));
        let once = frame
            .polygons_ranked(&ranked)
            .map(|e| decode_rings(&e.commands));
        assert_eq!(per_tile, once, "z{z}");
        assert!(per_tile.is_some(), "z{z}: the tile holds part of the shape");
    }
}

/// Test helper: rings of a polygon feature, absolute coordinates.
fn decode_rings(cmds: &[u32]) -> Vec<Vec<(i32, i32)>> {
    let unzig = |v: u32| ((v >> 1) as i32) ^ -((v & 1) as i32);
    let (mut i, mut cur, mut rings) = (0, (0i32, 0i32), Vec::new());
    let mut ring: Vec<(i32, i32)> = Vec::new();
    while i < cmds.len() {
        let (id, n) = (cmds[i] & 7, (cmds[i] >> 3) as usize);
        i += 1;
        if id == 7 {
            rings.push(std::mem::take(&mut ring));
            continue;
        }
        for _ in 0..n {
            cur = (cur.0 + unzig(cmds[i]), cur.1 + unzig(cmds[i + 1]));
            ring.push(cur);
            i += 2;
        }
    }
    rings
}
