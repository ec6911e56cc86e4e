INSERT INTO water (fid, geom, kind, name) VALUES ($1, $2, $3, $4)
ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, kind = excluded.kind, name = excluded.name
