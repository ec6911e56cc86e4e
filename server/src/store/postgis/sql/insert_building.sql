INSERT INTO buildings (fid, geom, levels, height_m, kind) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, levels = excluded.levels,
height_m = excluded.height_m, kind = excluded.kind
