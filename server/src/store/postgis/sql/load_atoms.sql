SELECT geom, region, atom_id, kind FROM atoms ORDER BY region COLLATE "C", atom_id
