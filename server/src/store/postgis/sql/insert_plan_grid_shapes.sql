INSERT INTO plan_grid_shapes (version, region, number, geom, level, code, parent, households, balance)
SELECT v.id, v.region, v.number, ST_GeomFromEWKB(s.geom), s.level, s.code, s.parent, s.households, s.balance
FROM plan_versions v,
     unnest($2::bytea[], $3::int2[], $4::text[], $5::text[], $6::int4[], $7::float8[])
       AS s (geom, level, code, parent, households, balance)
WHERE v.id = $1
