SELECT fid, geom, region, level, code, name, parent FROM grids ORDER BY fid
