SELECT fid, geom, class, name, grade FROM roads ORDER BY fid
