INSERT INTO plan_grids (version, level, grid, code)
SELECT $1, * FROM unnest($2::int2[], $3::int4[], $4::text[])
