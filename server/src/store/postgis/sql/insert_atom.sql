INSERT INTO atoms (region, atom_id, geom, kind) VALUES ($1, $2, $3, $4)
ON CONFLICT (region, atom_id) DO UPDATE SET geom = excluded.geom, kind = excluded.kind
