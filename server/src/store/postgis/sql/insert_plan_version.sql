INSERT INTO plan_versions (region, number, parent, author, created_at, message, published)
SELECT $1, coalesce(max(number), 0) + 1, $2, $3, $4, $5, $6 FROM plan_versions WHERE region = $1
RETURNING id, number
