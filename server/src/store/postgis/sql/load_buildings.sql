SELECT fid, geom, levels, height_m, kind FROM buildings ORDER BY fid
