SELECT fid, geom, kind, name FROM water ORDER BY fid
