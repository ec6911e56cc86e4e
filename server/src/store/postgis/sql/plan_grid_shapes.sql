SELECT version, geom, level, code, parent, households, balance
FROM plan_grid_shapes
WHERE $1::int8[] IS NULL OR version = ANY ($1)
ORDER BY version, level, code COLLATE "C"
