INSERT INTO grids (fid, geom, region, level, code, name, parent)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, region = excluded.region,
level = excluded.level, code = excluded.code, name = excluded.name, parent = excluded.parent
