INSERT INTO roads (fid, geom, class, name, grade) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, class = excluded.class, name = excluded.name, grade = excluded.grade
