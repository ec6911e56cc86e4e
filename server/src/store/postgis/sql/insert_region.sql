INSERT INTO regions (code, geom, name, parent) VALUES ($1, $2, $3, $4)
ON CONFLICT (code) DO UPDATE SET geom = excluded.geom, name = excluded.name, parent = excluded.parent
